"""Rule cases: sentence, category hint, expected article keys (and the matched text)."""

from __future__ import annotations

import dataclasses

import pytest

from rules.engine import ARTICLE_KEYS, CheckResult, Hit, RuleEngine
from rules.evaluate import DEFAULT_DEVSET_DIR, read_items
from tests.conftest import unavailable

A9, A14, A16, A17, A18 = "广告法第九条", "广告法第十四条", "广告法第十六条", "广告法第十七条", "广告法第十八条"
A21, A24, A25, A26, A28 = (
    "广告法第二十一条",
    "广告法第二十四条",
    "广告法第二十五条",
    "广告法第二十六条",
    "广告法第二十八条",
)
F73, M7, R11 = "食品安全法第七十三条", "医疗广告管理办法第七条", "广告审查暂行办法第十一条"
A12, A20, A22, A23, A27 = "广告法第十二条", "广告法第二十条", "广告法第二十二条", "广告法第二十三条", "广告法第二十七条"

VIOLATIONS = [
    ("tea-cures-diabetes", "本品根治糖尿病，有效率98%", (), {A17}),
    ("tea-lowers-sugar", "桑叶茶，长期饮用可降血糖", ("food",), {A17, F73}),
    ("superlative", "全网最低价，错过再等一年", (), {A9}),
    ("state-organ", "国家卫健委推荐的好产品", (), {A9}),
    ("national-flag", "五星红旗印花T恤", (), {A9}),
    ("superstition", "开光貔貅，招财辟邪", (), {A9}),
    ("hospital-cure-rate", "专治牛皮癣，治愈率95%", ("medical_service",), {A16, M7}),
    ("drug-expert-no-statements", "王教授倾情推荐，纯中药安全无副作用", ("drug",), {A16, R11}),
    ("health-food-disease-no-statements", "能降血糖，治疗糖尿病", ("health_food",), {A18}),
    ("pesticide-residue", "杀虫剂，无毒无残留", ("agriculture",), {A21}),
    ("training-pass", "签约保过，不过全额退款", ("education",), {A24}),
    ("investment-guarantee", "保本保息，稳赚不赔。投资有风险。", ("investment",), {A25}),
    ("investment-proximity", "收藏纪念币，保证三年升值。投资有风险。", ("investment",), {A25}),
    ("house-minutes", "距地铁站仅需5分钟", ("real_estate",), {A26}),
    ("fake-certification", "国家免检产品，品质可靠", (), {A28}),
    ("advertorial", "亲测一个月！这瓶精华真的好用，链接在评论区", ("cosmetics",), {A14}),
    ("invented-award", "荣获国际品质金奖，畅销全国", (), {A28}),
    ("organ-certified", "国家药监局权威认证的祛痘精华", ("cosmetics",), {A9, A17}),  # 祛痘: no cosmetic may claim it
    ("hospital-only-cosmetic", "医院皮肤科专用修护霜", ("cosmetics",), {A17}),
    ("hospital-comparison", "疗效比市级医院更好", ("medical_service",), {A16}),
    ("no-cure-no-fee", "承诺治不好不收费", ("medical_service",), {A16, M7}),
    ("effect-guaranteed", "矫形效果绝对有保障", ("medical_service",), {A16}),
    ("patient-quote", "黄先生说：“这里的医生真厉害。”", ("medical_service",), {A16, M7}),
    ("experts-bullish", "钱币专家一致看涨。投资有风险。", ("investment",), {A25}),
    ("news-advertorial", "近日，滨海食品有限公司推出新款核桃乳，规格250ml×12盒，下单即发货。", ("food",), {A14}),
    ("formula-like-breast-milk", "本品配方更接近母乳，宝宝吸收好", (), {A20}),
    ("infant-formula-offered", "婴儿配方奶粉0-6月龄1段，整箱包邮", (), {A20}),
    ("patent-pending", "折叠式晾衣架，已申请国家专利", (), {A12, A28}),
    ("seed-yield-forecast", "新品种玉米种子，亩产突破2000斤，保证丰收", (), {A27}),
    ("fry-returns-promised", "小龙虾苗，包回收，当年回本", (), {A27}),
    ("drinking-and-driving", "纯粮白酒，喝了这酒开车也不怕", (), {A23}),
    ("drinking-shown", "精酿啤酒，朋友相聚干杯", (), {A23}),
    ("cigarettes-refined", "高档香烟，醇和烟香，品味人生", (), {A22}),
    ("clinic-painless", "不开刀不住院，微创无痛，随治随走", (), {A16}),
    ("hair-regrowth-cosmetic", "生发液让秃顶重新长出头发", (), {A17}),
    ("hospital-exclusive", "本院引进德国先进设备，国内独家", (), {A9}),
    ("patients-improve", "患者亲身体验，效果显著", (), {A17}),
    ("liver-bathed", "给肝脏洗个澡", (), {A17}),
    ("stamina-claim", "男人的加油站，持久不泄", (), {A17}),
    ("fills-a-gap", "本品填补国内空白，行业领导者", (), {A9}),
    ("wonder-of-the-world", "世界之最的工艺", (), {A9}),
    ("travel-time-no-property-noun", "10分钟车程直达市中心，15分钟到高铁站", (), {A26}),
    ("planned-metro-at-the-door", "未来地铁6号线出口就在小区门口", (), {A26}),
    ("rent-pays-the-loan", "首付5万，以租养贷，轻松当房东", (), {A26}),
    ("refund-across-a-comma", "考试不过，全额退款", ("education",), {A24}),
    ("share-of-learners-admitted", "90%学员考入重点高中", (), {A24}),
    ("grows-in-value-on-the-shelf", "红木家具，越放越值钱", (), {A25}),
    ("stake-multiplied", "区块链项目，投入1万，一年变100万", (), {A25}),
    ("slimming-food", "代餐饼干，一吃就瘦", (), {A17}),
    ("instant-whitening", "美白霜，一抹就白", (), {A28}),
    ("wrinkles-by-percent", "使用28天，皱纹减少50%", (), {A28}),
    ("mask-protects-fully", "医用口罩，防病毒率100%", ("medical_device",), {A16}),
    ("pressure-down-for-good", "降压药，一次服用，永久降压", (), {A16}),
]

COMPLIANT = [
    ("recent", "最近天气转凉，双十一最后一天满300减50", ()),
    ("first-time", "第一次购买享九折", ()),
    ("first-step", "第一步打开包装，第二步装好电池", ()),
    ("best-before", "本品最佳赏味期为6个月", ("food",)),
    ("intangible-heritage", "制作技艺列入国家级非物质文化遗产名录", ("food",)),
    ("olive-oil-grade", "特级初榨橄榄油，依据GB/T 23347标准分级", ("food",)),
    ("own-shop-newest", "本店最新款羊毛大衣", ()),
    ("first-branch", "本店第一家分店下月开业", ()),
    ("dated-sourced-sales", "据奥维云网数据，2023年1-12月线上空气净化器零售额第一", ()),
    ("customer-first", "顾客第一，诚信经营", ()),
    ("spec-table", "扫地机最大吸力5000Pa", ()),
    ("pure-cotton", "100%纯棉床单", ()),
    ("sugar-free", "无糖酸奶，每100克糖含量0.3克", ("food",)),
    ("collection-folder", "收藏夹里的宝贝降价啦", ()),
    ("hospital-treats", "博爱医院，诊疗科目：内科、外科，开展门诊治疗服务", ("medical_service",)),
    (
        "device-with-approval",
        "制氧机，苏械注准20202080123。禁忌内容或者注意事项详见说明书。浙械广审（文）第250405-00112号",
        ("medical_device",),
    ),
    (
        "labelled-health-food",
        "辅助降血糖保健食品，国食健注G20160123。保健食品不是药物，不能代替药物治疗疾病。京食健广审（文）第250306-00087号",
        ("health_food",),
    ),
    ("negated-guarantee", "我们不承诺保过，只承诺认真教学", ("education",)),
    ("patent-with-number", "国家发明专利，专利号ZL201910123456.7", ()),
    ("logistics-transfer", "国际快递转运服务", ()),
    ("supreme-court", "最高人民法院发布典型案例", ()),
    ("delivery-check", "签收时请当面开箱验货，关注店铺领优惠券", ()),
    ("contact-person", "联系人：李女士，电话0571-88001234", ("medical_service",)),
    ("no-guarantee", "治疗效果因人而异，本院不作效果保证", ("medical_service",)),
    ("regulator-news", "近日，市场监管局通报了一批抽检不合格的电热水壶，涉及两家有限公司，规格为1.5L", ()),
    ("scam-warning", "警惕以“保本高收益”为噱头的收藏品骗局", ("investment",)),
    ("breast-milk-statement", "母乳是婴儿最好的食物，提倡母乳喂养", ()),
    ("follow-on-formula", "较大婴儿配方奶粉 2段 800g", ()),
    ("granted-patent", "实用新型专利，专利号ZL202020123456.7", ()),
    ("yield-with-caveat", "玉米种子，适宜黄淮海夏播，产量受气候、栽培管理等因素影响", ()),
    ("drink-responsibly", "饮酒请勿驾车，未成年人禁止饮酒", ()),
    ("charging-spec", "电池最大容量5000mAh，最快充电30分钟", ()),
    ("penalty-news", "近日，某公司因发布“祖传秘方、药到病除”的虚假广告被罚款20万元", ()),
    ("first-automotive", "中国第一汽车集团有限公司", ()),
    ("study-reports", "研究显示，适量运动有助于降低血压、改善睡眠质量", ()),
    ("company-disclaims", "本公司郑重声明：从未授权任何机构以本公司名义销售所谓“保本理财”产品", ()),
    ("antibiotics-advice", "感冒通常是自限性疾病，一般一周左右可自愈，不必滥用抗生素", ()),
    ("treatment-guideline", "新冠病毒感染者居家治疗指南", ()),
    ("hotel-by-the-airport", "酒店距离机场10分钟车程，提供免费接送", ()),
    ("fund-yield-sourced", "七日年化收益率2.35%（数据来源：基金公告，截至2024年3月31日）。基金有风险，投资需谨慎", ()),
]

EVASIONS = [
    ("hyphen", "红糖姜茶，能根-治痛经", "根-治痛经"),
    ("spaces", "苦荞茶，根 治 高血压", "根 治 高血压"),
    ("zero-width", "桑叶茶，可降\u200b血\u200b糖", "降\u200b血\u200b糖"),
    ("traditional", "這款電暖器是全網最好的選擇", "最好"),
    ("fullwidth-no1", "ＮＯ．１人气洗衣凝珠", "ＮＯ．１"),
    ("pinyin-zui", "zui好用的拖把", "zui好用"),
    ("homophone", "醉好用的拖把", "醉好用"),
    ("pinyin-di", "第yi品牌智能门锁", "第yi品牌"),
    ("top1", "这款面霜TOP1", "TOP1"),
    ("emoji", "黑枸杞原浆，抗🔥癌", "抗🔥癌"),
]


def keys(result: CheckResult) -> set[str]:
    return set(result.article_keys)


@pytest.mark.parametrize(("text", "hints", "expected"), [c[1:] for c in VIOLATIONS], ids=[c[0] for c in VIOLATIONS])
def test_violations(engine: RuleEngine, text: str, hints: tuple[str, ...], expected: set[str]) -> None:
    assert keys(engine.check(text, category_hints=hints)) == expected


@pytest.mark.parametrize(("text", "hints"), [c[1:] for c in COMPLIANT], ids=[c[0] for c in COMPLIANT])
def test_compliant_near_misses(engine: RuleEngine, text: str, hints: tuple[str, ...]) -> None:
    result = engine.check(text, category_hints=hints)
    assert result.hits == [], [f"{h.rule_id}:{h.matched}" for h in result.hits]
    assert result.flagged is False


@pytest.mark.parametrize(("text", "matched"), [c[1:] for c in EVASIONS], ids=[c[0] for c in EVASIONS])
def test_evasion_hits_point_at_original_text(engine: RuleEngine, text: str, matched: str) -> None:
    hits = engine.check(text).hits
    assert hits, "evasion not caught"
    assert any(text[h.start : h.end] == h.matched == matched for h in hits), [(h.matched, h.start, h.end) for h in hits]


def test_treatment_word_depends_on_category(engine: RuleEngine) -> None:
    hospital = engine.check("开展失眠治疗门诊", category_hints=("medical_service",))
    tea = engine.check("这款养生茶可以治疗失眠", category_hints=("food",))
    assert A17 not in keys(hospital)
    assert A17 in keys(tea)


def test_result_shape(engine: RuleEngine) -> None:
    text = "本品根治糖尿病，有效率98%"
    result = engine.check(text)
    assert result.flagged and 0 < result.risk <= 1
    assert result.categories == ["general"] and "general" in result.category_reasons
    assert [h.start for h in result.hits] == sorted(h.start for h in result.hits)
    for hit in result.hits:
        assert isinstance(hit, Hit) and text[hit.start : hit.end] == hit.matched
        assert hit.article_key in ARTICLE_KEYS and hit.article.startswith("广告法第十七条")
        assert hit.explanation and hit.penalty
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.hits[0].start = 3  # type: ignore[misc]


def test_title_and_hints_drive_classification(engine: RuleEngine) -> None:
    by_title = engine.check("每日两粒，增强免疫力", title="康源牌保健食品辅酶Q10")
    by_hint = engine.check("每日两粒", category_hints=("保健食品",))
    assert by_title.categories[0] == "health_food"
    assert by_hint.categories == ["health_food"] and "调用方提示" in by_hint.category_reasons["health_food"]


def test_hint_keeps_keyword_categories_out(engine: RuleEngine) -> None:
    """A hinted cosmetics page stays cosmetics: “保质期” is no food, “医院” no medical service."""
    text = "保湿面霜，保质期三年。医院皮肤科专用。"
    assert engine.check(text, category_hints=("cosmetics",)).categories == ["cosmetics"]
    assert "food" in engine.check(text).categories
    numbered = engine.check("面霜赠品：国药准字H20053456维生素E乳", category_hints=("cosmetics",))
    assert "drug" in numbered.categories


def test_ad_label_in_hints_exempts_advertorial(engine: RuleEngine) -> None:
    """The crawler passes a page's “广告” mark (shown outside the article text) as a hint."""
    text = "近日，滨海食品有限公司推出新款核桃乳，规格250ml×12盒，下单即发货。"
    assert A14 in keys(engine.check(text))
    assert A14 not in keys(engine.check(text, category_hints=("广告",)))
    assert A14 not in keys(engine.check("（广告）" + text))


def test_title_read_off_a_document_that_starts_with_it(engine: RuleEngine) -> None:
    """A crawled document starts with its title; its terms then come from the document's own scan."""
    title = "康源牌保健食品辅酶Q10"
    document = f"{title}\n每日两粒，增强免疫力"
    shared = engine.check(document, title=title)
    separate = engine.check(document, title=title + " ")
    assert shared.categories == separate.categories == ["health_food"]
    assert shared.hits == separate.hits


def test_missing_statement_is_a_whole_text_finding_that_does_not_flag(engine: RuleEngine) -> None:
    """A text alone cannot show that an element is missing from the ad: a reviewer is asked to look (#13)."""
    result = engine.check(
        "蛋白粉，保健功能：增强免疫力。京食健广审（文）第250306-00087号", category_hints=("health_food",)
    )
    (hit,) = result.hits
    assert hit.article_key == "广告法第十八条" and (hit.start, hit.end, hit.matched) == (0, 0, "")
    assert (hit.kind, hit.severity) == ("missing_element", "low") and "保健食品不是药物" in hit.explanation
    assert not result.flagged and result.article_keys == [] and result.risk == 0.0


def test_missing_elements_beside_a_violation_leave_the_violation_flagged(engine: RuleEngine) -> None:
    result = engine.check("能降血糖，治疗糖尿病", category_hints=("health_food",))
    kinds = {hit.rule_id: hit.kind for hit in result.hits}
    assert kinds["review7-health-food-statement"] == kinds["review9-approval-number"] == "missing_element"
    assert result.flagged and result.article_keys == ["广告法第十八条"]


def test_scanner_backends_agree(engine: RuleEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """ahocorasick_rs (when installed) and pyahocorasick report the same occurrences."""
    from rules import engine as engine_module

    if engine_module._ars is None:
        unavailable("ahocorasick_rs is not installed")
    text = "全网最低价🔥！专家推荐，根治失眠，国家级品质，第一次购买送保质期内新品，国食健注g20160123"
    fast_scanner = engine_module._Scanner(engine.terms)
    fast = fast_scanner.scan(text)
    monkeypatch.setattr(engine_module, "_ars", None)
    slow_scanner = engine_module._Scanner(engine.terms)
    slow = slow_scanner.scan(text)
    assert fast == slow and fast
    assert fast_scanner.found(text) == slow_scanner.found(text) == fast.keys()


def test_deterministic(engine: RuleEngine) -> None:
    text = "全网最低价！专家推荐，根治失眠，国家级品质，NO.1"
    assert engine.check(text) == engine.check(text)


def test_rulebook_metadata(engine: RuleEngine) -> None:
    assert engine.rulebook_version
    assert {rule.article_key for rule in engine.rules} <= set(ARTICLE_KEYS)
    assert len({rule.id for rule in engine.rules}) == len(engine.rules)


def test_required_literals_gate_whole_text_searches(engine: RuleEngine) -> None:
    """A document-wide pattern is skipped only when no literal that all of its matches hold occurs."""
    import re

    from rules import engine as engine_module

    literals_of = engine_module._required_literals
    assert literals_of(re.compile(r"广告(?!法)|推广|#ad\b|\bad\b")) == ("广告", "推广", "ad")
    assert literals_of(re.compile("(?:药|械|食健)广审")) == ("药", "械", "食健")
    assert literals_of(re.compile(r"\d+年")) is None
    assert literals_of(re.compile("(?i)ad")) is None
    patterns = {p for c in engine._compiled for p in c.document}
    patterns |= {p for c in engine._compiled for _label, group in c.required for p in group}
    texts = [engine.prepare(item.text)[0].text for item in read_items(DEFAULT_DEVSET_DIR)]
    for pattern in patterns:
        literals = literals_of(pattern)
        for text in texts:
            for match in pattern.finditer(text):
                assert literals is None or any(literal in match.group() for literal in literals)


def test_document_spans_match_the_automaton(engine: RuleEngine) -> None:
    """Spans found with ``str.find`` on demand are the automaton's occurrences, overlapping ones included."""
    from rules import engine as engine_module

    text = "全网最低价最低价，第一第一，顾客第一，根治根治失眠，国家级品质，专家推荐专家推荐"
    norm, occurrences = engine.prepare(text)
    doc = engine_module._Document(norm, set(occurrences))
    assert occurrences and all(doc.spans(term) == spans for term, spans in occurrences.items())
    assert doc.spans("不在文中的词") == []


def test_trigger_repeated_thousands_of_times(engine: RuleEngine) -> None:
    """A page full of one trigger (a saved Tmall page holds 11,554 ``"``) is checked as a short one is."""
    testimonial = "王先生说“吃了三个疗程，我的病全好了”"
    page = '{"sku": "a1"}，' * 3000
    quiet = engine.check(page, category_hints=("drug",))
    loud = engine.check(page + testimonial, category_hints=("drug",))
    assert "ad16-endorsement" not in {hit.rule_id for hit in quiet.hits}
    endorsements = [hit for hit in loud.hits if hit.rule_id == "ad16-endorsement"]
    assert len(endorsements) == 1 and endorsements[0].matched.startswith("王先生说“")
    assert endorsements[0].start == len(page)


def test_whole_text_search_only_for_context_free_patterns() -> None:
    """A window's match is a whole-text match only when nothing outside the match decides it."""
    import re

    from rules.engine import _context_free

    assert _context_free(re.compile(r"(?:小|老)?[王李][\u4e00-\u9fff]?(?:说|表示)[:：]?[“\"]"))
    assert not _context_free(re.compile(r"第一(?!时间)"))
    assert not _context_free(re.compile(r"(?<=保)本"))
    assert not _context_free(re.compile(r"\bad\b"))
    assert not _context_free(re.compile(r"(?:最好)+$"))
    assert not _context_free(re.compile(r"(?>[a-z]*)1"))
    assert not _context_free(re.compile(r"(\d)\1"))


def test_long_page_of_exempt_wording_keeps_its_one_violation(engine: RuleEngine) -> None:
    """Thousands of exempt occurrences and near-miss pairs: only the real violations are hits."""
    page = "顾客第一，包装精美，效果好。" * 2000
    result = engine.check(page + "全国第一的降压药，保证效果。", category_hints=("drug",))
    matched = {(hit.rule_id, hit.matched) for hit in result.hits if hit.matched}
    assert matched == {("ad9-superlative", "全国第一"), ("ad16-efficacy-guarantee", "保证效果")}
    assert all(hit.start >= len(page) for hit in result.hits if hit.matched)


def test_classify_gives_the_categories_and_reasons_a_check_reports(engine: RuleEngine) -> None:
    for item in read_items(DEFAULT_DEVSET_DIR):
        hints = (item.category,) if item.category else ()
        result = engine.check(item.text, title=item.title, category_hints=hints)
        classification = engine.classify(item.text, title=item.title, category_hints=hints)
        assert (list(classification.categories), dict(classification.reasons)) == (
            result.categories,
            result.category_reasons,
        ), item.id


def test_a_lone_surrogate_neither_stops_a_check_nor_moves_its_offsets(engine: RuleEngine) -> None:
    text = "本品根治\udc00糖尿病，有效率98%"
    assert [(hit.matched, hit.start, hit.end) for hit in engine.check(text).hits] == [
        ("根治\udc00糖尿病", 2, 8),
        ("有效率", 9, 12),
    ]
