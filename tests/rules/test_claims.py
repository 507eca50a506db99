"""Issue #13: claims found whatever the category, one negation and scope model, lawful look-alikes left alone.

Each case is a sentence, the article keys a reviewer would cite and why; they are written from the law
(../shared/LAW.md) and the issue's examples, not taken from the real-case corpus.
"""

from __future__ import annotations

import pytest

from rules.engine import MISSING_ELEMENT, RuleEngine

A9, A15, A16, A17, A18, A22, A23, A24, A25, A26, A28 = (
    "广告法第九条",
    "广告法第十五条",
    "广告法第十六条",
    "广告法第十七条",
    "广告法第十八条",
    "广告法第二十二条",
    "广告法第二十三条",
    "广告法第二十四条",
    "广告法第二十五条",
    "广告法第二十六条",
    "广告法第二十八条",
)

CLAIMS = [
    ("indicator-back-to-normal", "坚持服用3个月，血糖恢复正常", (), A17, "指标恢复正常：治疗功能"),
    ("organ-washed-clean", "血管得以彻底清洗，血栓排出体外", (), A17, "器官“清洗”：治疗功能"),
    ("symptoms-gone-in-days", "半个月胀痛症状完全消失", (), A17, "时间框架加症状消失"),
    ("replaces-a-drug", "喝了它，可以减用西药", (), A17, "替代药物"),
    ("pathogen-killed", "抗幽门螺旋杆菌，修复肠道屏障", (), A17, "杀灭病原体、修复器官"),
    ("health-food-outcome", "连续食用两个月，血压基本正常了", ("health_food",), A18, "保健食品：功效断言、疾病治疗"),
    ("drug-time-frame", "服用7天血糖明显下降", ("drug",), A16, "药品：疗效断言"),
    ("collectible-appreciation", "收藏即升值，三年翻三倍", (), A25, "收藏品：收益保证，无论类别"),
    ("banned-injection", "国产瘦脸针，除皱改善咬肌", (), A15, "A型肉毒毒素属医疗用毒性药品，不得作广告"),
    ("health-function-on-food", "这款山楂茶能提高免疫力、延缓衰老", ("food",), A17, "普通食品声称保健功能"),
    ("plain-superlative", "我们家的牛肉面是全城最好吃的", (), A9, "第九条：最好吃"),
    ("onset-of-action", "本品起效更快更安全", (), A17, "起效：药品的作用，普通商品不得宣称"),
    ("tcm-efficacy-pair", "玫瑰花茶，疏肝理气、活血化瘀", ("food",), A17, "两个中医功效词连用：功能主治"),
    ("virus-killed", "喷一喷，杀灭99.9%病毒", (), A17, "消毒用品宣称杀灭病毒"),
    ("efficacy-asserted", "对高血压、糖尿病有显著的治疗效果", (), A17, "断言疗效"),
    ("disease-remedy", "湿疹、荨麻疹患者福音，免费试用", (), A17, "疾病加“福音”“免费试用”"),
    ("function-promised", "每天一杯，有效增强免疫力", ("food",), A17, "法定保健功能名加“有效”成了保证"),
    ("rx-stem-sold", "阿托伐他汀钙片，降血脂，包邮到家", (), A15, "他汀类处方药向公众推销"),
    ("first-of-a-shop", "本店首家推出", (), A9, "首家：不因“本店”而免"),
    ("central-bank-supervised", "央行首发，中国人民银行监制纪念章", (), A9, "冒用国家机关名义发行"),
    ("state-guarantee", "政信项目，政府兜底，安全无忧", (), A9, "政府兜底：使用国家机关名义"),
    ("tobacco-online", "正宗细支烟，整条包邮", (), A22, "互联网烟草广告"),
    ("examiner-teaches", "前阅卷考官亲授，教材编委授课", (), A24, "考官、教材编委参与培训"),
    ("admission-count", "去年128人考入清华北大", (), A24, "以考入名校人数作证明"),
    ("guarantee-without-a-course-noun", "保过，不过全额退款", (), A24, "保过本身即教育培训的证据"),
    ("unlimited-appreciation", "升值潜力不可估量，即买即增值", (), A25, "升值无上限"),
    ("earn-lying-down", "躺在家里就能赚钱", (), A25, "躺赚"),
    ("property-appreciation", "地铁旺铺，升值空间无限", (), A26, "房地产：升值承诺"),
    ("unverified-origin", "纯野生黄鱼，现货包邮", (), A28, "“纯野生”须有来源证明"),
    ("lesion-shrinks", "喝了一个月，结节变小了", (), A17, "病灶缩小"),
    ("tissue-repaired", "受损组织得到修复", (), A17, "组织修复"),
    ("made-for-a-disease", "专为糖尿病人研制的主食", (), A17, "为疾病定制：暗示治疗"),
    ("fixed-payout", "投资10万，每月分红3000元", (), A25, "按期固定回报"),
    ("teach-until-learnt", "零基础包教包会，学不会退款", (), A24, "培训效果保证"),
    ("hit-rate", "考研名师押题，命中率90%", (), A24, "押题命中率"),
    ("first-in-country", "中国第一家纳米净水器", (), A9, "第一家"),
    ("world-leading", "世界领先技术", (), A9, "领先"),
    ("alcohol-efficacy", "每天喝一杯养生酒，解除疲劳，增加体力", (), A23, "饮酒增加体力"),
    ("alcohol-without-measure", "啤酒节无限畅饮，不醉不归", (), A23, "无节制饮酒"),
    ("result-for-life", "植发后头发浓密，永久不掉", ("medical_service",), A16, "终身效果保证"),
    ("no-recovery-needed", "隆鼻术后自然逼真，无需恢复期", ("medical_service",), A16, "安全性断言"),
    ("self-declared-rx", "本品为处方药，用于治疗高血压，网上购买，送货上门", (), A15, "处方药向公众推销"),
    ("drug-safety-on-goods", "纯中药成分，无毒副作用，孕妇儿童均可使用", (), A17, "“副作用”：易与药品混淆"),
    ("doubling-in-words", "专家预测，三年内至少翻两番", (), A25, "翻番：数字写成汉字"),
    ("value-multiplied", "纪念钞连号珍藏，未来价值翻十倍", (), A25, "价值翻倍"),
    ("payback-period", "投资商铺，十年回本", (), A26, "房地产：投资回报"),
    ("famous-research", "哈佛大学研究证明", (), A28, "无法证实的研究证明"),
    ("weight-in-a-month", "减肥茶，一个月瘦20斤，不反弹", (), A17, "时间框架加体重"),
    ("function-raised", "牛初乳提高孩子抵抗力，少生病", (), A17, "提高抵抗力：保健功能"),
    ("grows-taller", "孩子吃了长高10厘米，增高效果看得见", (), A17, "增高"),
    ("hair-turns-black", "黑芝麻丸，白发变黑，防脱生发", (), A17, "乌发生发"),
]

LAWFUL = [
    ("no-appreciation-promise", "本纪念币不作升值承诺，收藏有风险", (), "否定：不作承诺"),
    ("not-the-cheapest", "我们不是最便宜的，但是品质可靠", (), "否定：不是最便宜"),
    ("no-best-promise", "我们不做“最好”的承诺", (), "否定跨引号"),
    ("negation-inside-a-claim", "快速减重多是水分流失，体脂率未必下降", (), "否定在两个词之间"),
    ("technical-parameter", "本机最低工作温度-10℃，最大功率2000W", (), "技术参数"),
    ("healing-anime", "治愈系动画电影推荐", (), "“治愈系”是风格，不是疗效"),
    ("broadcaster-name", "第一财经报道：本周股市震荡", (), "专名"),
    ("domain-name", "顶级域名注册服务", (), "专名"),
    ("invitation-code", "输入唯一邀请码即可注册", (), "技术用语"),
    (
        "statutory-function",
        "保健食品，保健功能：辅助降血脂。保健食品不是药物，不能代替药物治疗疾病",
        ("health_food",),
        "法定保健功能",
    ),
    ("pharmacy-hours", "本药房营业时间：每日8:00-22:00，节假日照常营业", (), "药房营业时间"),
    ("advice-best", "流感疫苗最好在10月底前完成接种", (), "“最好”作建议"),
    ("label-text", "用药3天症状无改善或加重者，应及时就医", ("drug",), "药品说明书注意事项"),
    ("statutory-function-alone", "辅助降血脂", (), "法定保健功能名，无保证"),
    ("healing-story", "温暖、治愈的作品，究竟治愈了我们什么", (), "“治愈”的作品"),
    ("computer-virus", "杀毒软件，清除电脑病毒和木马", (), "电脑病毒"),
    ("genuine-coin", "生肖纪念币，中国人民银行发行，收藏有风险", ("investment",), "真实发行信息"),
    ("risk-education", "高收益往往伴随着高风险，投资需谨慎", (), "风险教育"),
    ("time-order-first", "今年首个工作日，门店照常营业", (), "时间顺序"),
    ("unique-code", "它是一个全球唯一的编码", (), "技术描述"),
    ("exam-essay", "命题作文写作课，报名从速", (), "命题作文不是命题人"),
    ("moderate-drinking", "理性饮酒，酒驾违法，红酒宜适量饮用", (), "理性饮酒提示"),
    ("lpr-boilerplate", "利率参考中国人民银行授权全国银行间同业拆借中心公布的贷款市场报价利率", (), "LPR 公告用语"),
    ("first-branch", "第一家分店开业啦", (), "门店序数"),
    ("income-threshold", "每月收入3000元以上的用户可申请", (), "申请条件，不是回报"),
    ("phone-rebate", "话费每月返还20元", (), "话费返还，不是投资回报"),
    ("pharmacy-rx-notice", "处方药须凭医生处方购买，请在执业药师指导下使用", (), "药房处方药提示"),
    ("otc-label", "本品为非处方药，请按药品说明书购买和使用", ("drug",), "非处方药"),
    ("permanent-hair-removal", "冰点永久脱毛，预约咨询", ("medical_service",), "项目名称"),
    ("never-say-best", "我们从不说自己是最好的", (), "否定：从不"),
    ("loan-rate", "最高可贷50万，年化利率最低3.6%起", (), "贷款利率是成本，不是收益"),
    ("sports-league", "顶级联赛直播", (), "专名"),
    ("official-site", "唯一指定官方网站", (), "官方网站"),
    ("job-title", "首席执行官致辞", (), "职务名称"),
    ("growth-report", "新增土地数量较2015年近乎翻倍", (), "年份不是期限"),
    ("double-data", "流量翻倍，积分翻倍", (), "促销，不是投资回报"),
]

EDITORIAL = [
    ("consumer-warning", "警惕保健品虚假宣传：所谓“根治糖尿病”“包治百病”都是骗局", "消费提示引述违法用语"),
    ("question-about-a-claim", "问：广告宣称“一周瘦10斤”可信吗？", "消费者问答"),
    ("news", "新华社北京10月16日电 冯小刚获最佳导演奖，《建国大业》获最佳故事片奖", "新闻"),
    ("science", "二甲双胍是指一种口服降糖药，根据《中国2型糖尿病防治指南》，可作为首选药物", "科普"),
]


@pytest.mark.parametrize(("text", "hints", "article", "why"), [c[1:] for c in CLAIMS], ids=[c[0] for c in CLAIMS])
def test_claims_are_found(engine: RuleEngine, text: str, hints: tuple[str, ...], article: str, why: str) -> None:
    result = engine.check(text, category_hints=hints)
    assert result.flagged, why
    assert article in result.article_keys, (why, [(h.rule_id, h.matched) for h in result.hits])


@pytest.mark.parametrize(("text", "hints", "why"), [c[1:] for c in LAWFUL], ids=[c[0] for c in LAWFUL])
def test_lawful_look_alikes_are_not_flagged(engine: RuleEngine, text: str, hints: tuple[str, ...], why: str) -> None:
    result = engine.check(text, category_hints=hints)
    assert not result.flagged, (why, [(h.rule_id, h.matched) for h in result.hits])


@pytest.mark.parametrize(("text", "why"), [c[1:] for c in EDITORIAL], ids=[c[0] for c in EDITORIAL])
def test_text_that_warns_reports_or_explains_is_not_checked_as_an_ad(engine: RuleEngine, text: str, why: str) -> None:
    result = engine.check(text)
    assert result.editorial and not result.flagged and result.hits == [], why


def test_the_same_wording_with_a_price_is_an_ad_again(engine: RuleEngine) -> None:
    result = engine.check("专家提醒：本品根治糖尿病，限时特价99元，立即下单")
    assert not result.editorial and result.flagged


def test_a_hospital_ad_is_classed_a_medical_service_by_its_claims(engine: RuleEngine) -> None:
    result = engine.check("本院专治糖尿病，有效率99.8%，无效全额退款。患者王先生说：“治疗三个月，血糖恢复正常。”")
    assert result.categories[0] == "medical_service"
    assert {"广告法第十六条", "医疗广告管理办法第七条"} <= set(result.article_keys)


def test_a_drug_named_by_its_salt_and_form_is_a_drug(engine: RuleEngine) -> None:
    assert engine.classify("盐酸左氧氟沙星片，消炎，下单包邮").categories == ("drug",)
    assert engine.classify("盐酸的化学性质").categories == ("general",)


def test_a_registration_number_without_an_approval_number_is_a_finding_not_a_flag(engine: RuleEngine) -> None:
    text = "蓝帽子保健食品，国食健注G20170123，保健功能：增强免疫力。保健食品不是药物，不能代替药物治疗疾病"
    result = engine.check(text)
    (finding,) = result.hits
    assert (finding.rule_id, finding.kind, finding.severity) == ("review9-approval-number", MISSING_ELEMENT, "low")
    assert finding.article_key == "广告法第四十六条" and not result.flagged


def test_a_claim_hit_names_the_articles_it_also_engages(engine: RuleEngine) -> None:
    (hit,) = [h for h in engine.check("坚持服用3个月，血糖恢复正常").hits if h.rule_id == "claim17-health-outcome"]
    also = ("广告法第二十八条", "广告法第四条", "广告法第十八条", "反不正当竞争法第八条")
    assert hit.article_key == "广告法第十七条" and hit.see_also == also
    assert hit.article == "广告法第十七条；另见广告法第二十八条、广告法第四条、广告法第十八条、反不正当竞争法第八条"


def test_no_cited_article_waits_for_verification(engine: RuleEngine) -> None:
    """25 stored hits cited articles marked （条号待核验）: none may go into a penalty document (#13)."""
    for rule in engine.rules:
        assert "待核验" not in rule.article + rule.penalty, rule.id
