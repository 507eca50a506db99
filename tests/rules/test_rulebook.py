"""Rulebook loading and lint: every error names the file, the rule id and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rules.cli import rules
from rules.engine import RuleEngine
from rules.rulebook import DEFAULT_RULEBOOK_DIR, UNVERIFIED_NOTE, RulebookError, load_articles, load_rulebook

GOOD_RULE = """\
  - id: {rule_id}
    law: 中华人民共和国广告法
    article: 广告法第九条第三项
    article_key: {article_key}
    categories: [{category}]
    severity: {severity}
    patterns:
      - terms: [最佳]
    explanation: 绝对化用语
    penalty: 《广告法》第五十七条
{extra}"""

BROKEN = [
    ("bad-severity", {"severity": "critical"}, "field 'severity': must be one of high, medium, low"),
    ("unknown-field", {"extra": "    severty: high\n"}, "field 'severty': unknown field (did you mean 'severity'?)"),
    ("bad-article-key", {"article_key": "广告法第九十九条"}, "field 'article_key': unknown article_key"),
    (
        "bad-category",
        {"category": "medicl_service"},
        "unknown category 'medicl_service' (did you mean 'medical_service'?)",
    ),
    (
        "bad-regex",
        {"extra": "    exemptions:\n      before: '(unclosed'\n"},
        "field 'exemptions.before': invalid regular expression",
    ),
    (
        "unknown-lexicon",
        {"extra": "    requires: [['@nosuchlist']]\n"},
        "field 'requires.0': unknown lexicon '@nosuchlist'",
    ),
]


def write_rule_file(folder: Path, **fields: str) -> Path:
    values = {"rule_id": "ad9-test", "article_key": "广告法第九条", "category": "all", "severity": "high", "extra": ""}
    values.update(fields)
    path = folder / "broken.yaml"
    path.write_text('version: "t1"\nrules:\n' + GOOD_RULE.format(**values), encoding="utf-8")
    return path


@pytest.fixture()
def rulebook_copy(tmp_path: Path) -> Path:
    for name in ("lexicons.yaml", "categories.yaml"):
        shutil.copy(DEFAULT_RULEBOOK_DIR / name, tmp_path / name)
    shutil.copytree(DEFAULT_RULEBOOK_DIR / "lexicons", tmp_path / "lexicons")
    return tmp_path


@pytest.mark.parametrize(("fields", "message"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_load_errors_name_file_rule_and_field(rulebook_copy: Path, fields: dict[str, str], message: str) -> None:
    write_rule_file(rulebook_copy, **fields)
    with pytest.raises(RulebookError) as caught:
        load_rulebook(rulebook_copy)
    (problem,) = caught.value.problems
    assert "broken.yaml: rule ad9-test: " in problem
    assert message in problem


@pytest.mark.parametrize(("fields", "message"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_lint_command_reports_and_fails(rulebook_copy: Path, fields: dict[str, str], message: str) -> None:
    path = write_rule_file(rulebook_copy, **fields)
    result = CliRunner().invoke(rules, ["lint", str(path)])
    assert result.exit_code == 1
    assert "rule ad9-test" in result.stderr and message in result.stderr


def test_duplicate_ids_are_reported(rulebook_copy: Path) -> None:
    path = write_rule_file(rulebook_copy)
    path.write_text(
        path.read_text(encoding="utf-8")
        + GOOD_RULE.format(rule_id="ad9-test", article_key="广告法第九条", category="all", severity="low", extra=""),
        encoding="utf-8",
    )
    with pytest.raises(RulebookError, match="rule ad9-test: field 'id': duplicate id"):
        load_rulebook(rulebook_copy)


def test_invalid_yaml_names_line(rulebook_copy: Path) -> None:
    (rulebook_copy / "broken.yaml").write_text("version: '1'\nrules: [\n", encoding="utf-8")
    with pytest.raises(RulebookError, match=r"broken.yaml: invalid YAML \(line"):
        load_rulebook(rulebook_copy)


def test_shipped_rulebook_lints_clean() -> None:
    result = CliRunner().invoke(rules, ["lint"])
    assert result.exit_code == 0, result.output
    assert load_rulebook().version


DATA_LEXICON = """lexicon: pets
description: 宠物 pets
sources:
  - {id: zoo, title: 某动物名录}
entries:
  - {term: 猫, kind: mammal, source: zoo}
  - {term: 金鱼, kind: fish, source: zoo}
  - {term: 锦鲤, kind: fish, source: zoo, ambiguous: true}
"""


def test_data_lexicons_are_referenced_whole_or_filtered_on_a_field(rulebook_copy: Path) -> None:
    (rulebook_copy / "lexicons" / "pets.yaml").write_text(DATA_LEXICON, encoding="utf-8")
    write_rule_file(rulebook_copy, extra="    requires: [['@pets'], ['@pets:kind=fish'], ['@pets:ambiguous=true']]\n")
    rule = next(r for r in load_rulebook(rulebook_copy).rules if r.id == "ad9-test")
    assert rule.requires == [["猫", "金鱼"], ["金鱼"], ["锦鲤"]]


def test_a_data_lexicon_entry_must_name_a_listed_source(rulebook_copy: Path) -> None:
    broken = DATA_LEXICON.replace("{term: 猫, kind: mammal, source: zoo}", "{term: 猫, kind: mammal, source: zo}")
    (rulebook_copy / "lexicons" / "pets.yaml").write_text(broken, encoding="utf-8")
    write_rule_file(rulebook_copy)
    with pytest.raises(RulebookError) as caught:
        load_rulebook(rulebook_copy)
    (problem,) = caught.value.problems
    assert problem.endswith("pets.yaml: field 'entries': entry 0 (猫): unknown source 'zo' (did you mean 'zoo'?)")


def test_shipped_lexicon_entries_all_carry_their_provenance() -> None:
    for path in sorted((DEFAULT_RULEBOOK_DIR / "lexicons").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        sources = {source["id"] for source in data["sources"]}
        assert all(entry["source"] in sources for entry in data["entries"]), path.name
        assert len(data["entries"]) >= 80, path.name


def test_a_rule_takes_its_law_and_penalty_from_its_article(rulebook_copy: Path) -> None:
    path = write_rule_file(rulebook_copy)
    text = path.read_text(encoding="utf-8")
    for line in ("    law: 中华人民共和国广告法\n", "    penalty: 《广告法》第五十七条\n"):
        text = text.replace(line, "")
    path.write_text(text, encoding="utf-8")
    rule = next(r for r in load_rulebook(rulebook_copy).rules if r.id == "ad9-test")
    article = load_articles()["广告法第九条"]
    assert (rule.law, rule.penalty) == (article.law, article.penalty)
    assert article.penalty == "《广告法》第五十七条第一项"


def test_a_rule_may_narrow_its_articles_penalty(rulebook_copy: Path) -> None:
    write_rule_file(rulebook_copy)
    rule = next(r for r in load_rulebook(rulebook_copy).rules if r.id == "ad9-test")
    assert rule.penalty == "《广告法》第五十七条"


NEW_ARTICLE = """  广告法第十条:
    law: 中华人民共和国广告法
    penalty: 《广告法》第五十七条第一项
    summary: 广告不得损害未成年人和残疾人的身心健康
    verified: true
"""


def test_a_rule_for_a_new_article_needs_its_rule_file_and_articles_yaml_only(rulebook_copy: Path) -> None:
    write_rule_file(rulebook_copy, article_key="广告法第十条")
    with pytest.raises(RulebookError, match="broken.yaml: rule ad9-test: field 'article_key': unknown article_key"):
        load_rulebook(rulebook_copy)
    articles = (DEFAULT_RULEBOOK_DIR / "articles.yaml").read_text(encoding="utf-8")
    (rulebook_copy / "articles.yaml").write_text(articles + NEW_ARTICLE, encoding="utf-8")
    engine = RuleEngine(load_rulebook(rulebook_copy))
    result = engine.check("最佳拍档")
    assert result.article_keys == ["广告法第十条"]
    assert result.hits[0].law == "中华人民共和国广告法"


def test_articles_file_errors_name_the_file_the_article_and_the_field(rulebook_copy: Path) -> None:
    broken = NEW_ARTICLE.replace("    verified: true\n", "")
    (rulebook_copy / "articles.yaml").write_text('version: "t"\narticles:\n' + broken, encoding="utf-8")
    with pytest.raises(RulebookError) as caught:
        load_rulebook(rulebook_copy)
    (problem,) = caught.value.problems
    assert problem.endswith("articles.yaml: field 'articles.广告法第十条.verified': Field required")


def test_every_cited_article_is_listed_and_unverified_numbers_are_marked() -> None:
    articles = load_articles()
    book = load_rulebook()
    cited = {rule.article_key for rule in book.rules} | {key for rule in book.rules for key in rule.see_also}
    assert cited <= set(articles)
    assert all(rule.law and rule.penalty for rule in book.rules)
    unverified = {key for key, article in articles.items() if not article.verified}
    # The numbers ../shared/LAW.md marks [未核验] or does not quote at all.
    assert {key.rstrip("第〇一二三四五六七八九十百条") for key in unverified} == {
        "广告审查暂行办法", "明码标价和禁止价格欺诈规定", "商标法", "反不正当竞争法", "电子商务法", "消费者权益保护法",
        "互联网信息服务管理办法",
    }
    assert "反不正当竞争法第八条" not in unverified


def test_a_hit_citing_an_unverified_article_says_so_at_the_end_of_its_explanation() -> None:
    engine = RuleEngine(load_rulebook())
    (hit,) = engine.check("本活动最终解释权归本店所有").hits
    assert hit.article_key == "消费者权益保护法第二十六条"
    assert hit.explanation.endswith(UNVERIFIED_NOTE)
    (verified,) = engine.check("全网最低价").hits
    assert not verified.explanation.endswith(UNVERIFIED_NOTE)


def test_price_rules_are_rulebook_entries_the_text_engine_leaves_to_the_price_history() -> None:
    book = load_rulebook()
    price = {rule.id for rule in book.rules if rule.kind == "price_history"}
    assert price == {"price-raise-then-discount", "price-reference-above-7day-low", "price-discount-mismatch"}
    assert price.isdisjoint(rule.id for rule in RuleEngine(book).rules)
    assert {rule.law for rule in book.rules if rule.id in price} == {"明码标价和禁止价格欺诈规定"}
