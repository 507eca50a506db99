"""Issue #13: claims found whatever the category, one negation and scope model, lawful look-alikes left alone.

Each case is a sentence, the article keys a reviewer would cite and why; they are written from the law
(../shared/LAW.md) and the issue's examples, not taken from the real-case corpus.
"""

from __future__ import annotations

import pytest

from rules.engine import MISSING_ELEMENT, RuleEngine

A9, A15, A16, A17, A18, A25 = (
    "广告法第九条",
    "广告法第十五条",
    "广告法第十六条",
    "广告法第十七条",
    "广告法第十八条",
    "广告法第二十五条",
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
]

EDITORIAL = [
    ("consumer-warning", "警惕保健品虚假宣传：所谓“根治糖尿病”“包治百病”都是骗局", "消费提示引述违法用语"),
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
