"""The console's vocabulary (dashboards/console.yaml): dismissal reasons, focus areas of the monthly sheet."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dashboards.catalog import CATALOG_PATH, CatalogError, catalog, load_catalog

VALID = {
    "dismiss_reasons": {"not_ad": "非广告", "false_match": "误报"},
    "focus_areas": [
        {"name": "虚假宣传与违法广告", "article_prefixes": ["广告法"]},
        {"name": "其他违法行为", "default": True},
    ],
    "dispositions": {"rectify": "责令整改", "penalty": "罚没", "close": "结案"},
    "penalty_disposition": "penalty",
    "closing_disposition": "close",
    "reporting_unit": "某市场监管局",
    "report_due_day": 25,
}


def problems(path: Path) -> str:
    """What loading ``path`` reports after the file name (tmp paths hold the test's name, so they are cut off)."""
    with pytest.raises(CatalogError) as error:
        load_catalog(path)
    message = str(error.value)
    assert message.startswith(f"{path}: "), message
    return message.removeprefix(f"{path}: ")


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "console.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_shipped_catalog_loads_with_reasons_areas_and_unit() -> None:
    shipped = load_catalog(CATALOG_PATH)

    assert shipped.dismiss_reasons["false_match"] == "误报（词语误匹配）"
    assert {"exempt_guide", "not_ad", "rectified", "approved_content", "wrong_category", "false_match",
            "duplicate", "outside_jurisdiction"} == set(shipped.dismiss_reasons)
    assert [area.name for area in shipped.focus_areas] == ["侵权假冒", "虚假宣传与违法广告", "刷单炒信", "其他违法行为"]
    assert [area.name for area in shipped.focus_areas if area.default] == ["其他违法行为"]
    assert shipped.reporting_unit
    assert 1 <= shipped.report_due_day <= 28
    assert catalog() == shipped
    assert list(shipped.dispositions.values()) == ["责令整改", "下架/删除", "立案", "移送", "罚没", "结案"]
    assert (shipped.penalty_disposition, shipped.closing_disposition) == ("penalty", "close")


def test_a_penalty_or_closing_disposition_that_is_not_listed_is_named(tmp_path: Path) -> None:
    message = problems(write(tmp_path, {**VALID, "closing_disposition": "archive"}))

    assert "closing_disposition" in message and "archive" in message


@pytest.mark.parametrize(("article_key", "area"), [
    ("广告法第九条", "虚假宣传与违法广告"),
    ("广告法第十七条", "虚假宣传与违法广告"),
    ("医疗广告管理办法第七条", "虚假宣传与违法广告"),
    ("广告审查暂行办法第九条", "虚假宣传与违法广告"),
    ("商标法第五十七条", "侵权假冒"),
    ("电子商务法第十七条", "刷单炒信"),
    ("电子商务法第三十八条", "其他违法行为"),
    ("明码标价和禁止价格欺诈规定第十九条", "其他违法行为"),
    ("", "其他违法行为"),
])
def test_shipped_catalog_puts_each_article_under_its_focus_area(article_key: str, area: str) -> None:
    assert catalog().focus_area(article_key) == area


def test_a_valid_file_of_ones_own_loads(tmp_path: Path) -> None:
    loaded = load_catalog(write(tmp_path, VALID))

    assert loaded.dismiss_reasons == VALID["dismiss_reasons"]
    assert loaded.focus_area("广告法第九条") == "虚假宣传与违法广告"
    assert loaded.focus_area("商标法第五十七条") == "其他违法行为"


def test_two_default_focus_areas_are_refused_naming_file_field_and_areas(tmp_path: Path) -> None:
    data = {**VALID, "focus_areas": [{"name": "甲", "default": True}, {"name": "乙", "default": True}]}
    message = problems(write(tmp_path, data))

    assert "focus_areas" in message
    assert "default" in message
    assert "甲" in message and "乙" in message


def test_no_default_focus_area_is_refused(tmp_path: Path) -> None:
    message = problems(write(tmp_path, {**VALID, "focus_areas": [{"name": "甲", "article_prefixes": ["广告法"]}]}))

    assert "focus_areas" in message
    assert "none" in message


def test_unknown_key_in_a_focus_area_is_refused_naming_the_entry_and_key(tmp_path: Path) -> None:
    areas = [{"name": "甲", "prefixes": ["广告法"]}, {"name": "乙", "default": True}]
    assert "focus_areas.0.prefixes" in problems(write(tmp_path, {**VALID, "focus_areas": areas}))


def test_unknown_top_level_key_is_refused(tmp_path: Path) -> None:
    assert "dismissal_reasons" in problems(write(tmp_path, {**VALID, "dismissal_reasons": {"x": "y"}}))


@pytest.mark.parametrize("field", ["dismiss_reasons", "focus_areas", "reporting_unit", "report_due_day"])
def test_missing_field_is_refused_naming_the_file_and_field(tmp_path: Path, field: str) -> None:
    message = problems(write(tmp_path, {key: value for key, value in VALID.items() if key != field}))

    assert f"{field}: Field required" in message


def test_focus_area_without_a_name_is_refused(tmp_path: Path) -> None:
    areas = [{"article_prefixes": ["广告法"]}, {"name": "乙", "default": True}]

    assert "focus_areas.0.name" in problems(write(tmp_path, {**VALID, "focus_areas": areas}))


@pytest.mark.parametrize("day", [0, 29, "soon"])
def test_report_due_day_outside_1_to_28_is_refused(tmp_path: Path, day: object) -> None:
    assert "report_due_day" in problems(write(tmp_path, {**VALID, "report_due_day": day}))


def test_empty_reason_list_is_refused(tmp_path: Path) -> None:
    assert "dismiss_reasons" in problems(write(tmp_path, {**VALID, "dismiss_reasons": {}}))


def test_file_that_is_not_yaml_or_not_there_is_refused_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("dismiss_reasons: [unclosed\n", encoding="utf-8")

    assert "YAML" in problems(broken)
    assert "cannot read" in problems(tmp_path / "missing.yaml")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here\n", encoding="utf-8")

    assert problems(empty)
