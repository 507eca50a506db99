"""Site profiles are validated on load; each error names the file, the entry and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crawler.exceptions import ProfileError
from crawler.profiles import load_profile, load_profiles

REPO = Path(__file__).resolve().parents[1]

VALID = {
    "name": "shop",
    "base_url": "http://127.0.0.1:9/",
    "start_urls": ["/list"],
    "follow": [{"allow": ["/list", "/item/"]}],
    "items": [{"name": "product", "url_pattern": r"/item/\d+", "fields": {"title": {"css": "h1::text"}}}],
}


def write(tmp_path: Path, data: dict, name: str = "shop.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def with_changes(**changes) -> dict:
    return {**VALID, **changes}


def test_a_valid_profile_loads(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, VALID))
    assert profile.name == "shop"
    assert profile.absolute_start_urls == ["http://127.0.0.1:9/list"]
    assert profile.item_rule_for("http://127.0.0.1:9/item/42").name == "product"
    assert profile.item_rule_for("http://127.0.0.1:9/list") is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (with_changes(base_url="ftp://x"), ["field 'base_url'", "absolute http(s) URL"]),
        (with_changes(start_urls=[]), ["field 'start_urls'", "at least one start URL"]),
        (
            with_changes(items=[{"name": "product", "url_pattern": "/item/(", "fields": {"title": {"css": "h1"}}}]),
            ["items[0] (product)", "field 'url_pattern'", "invalid regex"],
        ),
        (
            with_changes(
                items=[{"name": "product", "url_pattern": "/i", "fields": {"title": {"css": "h1", "xpath": "//h1"}}}]
            ),
            ["items[0] (product)", "field 'fields.title'", "exactly one of css, xpath, jmespath, const"],
        ),
        (
            with_changes(items=[{"name": "product", "url_pattern": "/i", "fields": {"titel": {"css": "h1"}}}]),
            ["items[0] (product)", "field 'fields'", "unknown item field(s) ['titel']"],
        ),
        (
            with_changes(
                items=[
                    {"name": "product", "url_pattern": "/i", "fields": {"title": {"css": "h1::text"}}, "colour": "red"}
                ]
            ),
            ["items[0] (product)", "field 'colour'", "Extra inputs are not permitted"],
        ),
        (with_changes(follow=[{"allow": ["[unclosed"]}]), ["follow[0]: field 'allow'", "invalid regex"]),
        (with_changes(politeness={"concurrency": 0}), ["field 'politeness.concurrency'"]),
        (with_changes(name="Bad Name"), ["field 'name'"]),
    ],
    ids=[
        "bad-base-url",
        "no-start-urls",
        "bad-item-regex",
        "two-sources",
        "unknown-item-field",
        "unknown-key",
        "bad-follow-regex",
        "zero-concurrency",
        "bad-name",
    ],
)
def test_invalid_profiles_fail_at_load_naming_file_entry_and_field(
    tmp_path: Path, data: dict, expected: list[str]
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(ProfileError) as raised:
        load_profile(path)
    message = str(raised.value)
    assert str(path) in message
    for fragment in expected:
        assert fragment in message


def test_not_yaml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="broken.yaml: not valid YAML"):
        load_profile(path)


def test_two_profiles_with_one_name_are_refused(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID, "b.yaml")
    with pytest.raises(ProfileError, match="profile name 'shop' already defined"):
        load_profiles([tmp_path])


def test_every_shipped_profile_loads() -> None:
    profiles = load_profiles([REPO / "crawler" / "profiles", REPO / "sandbox" / "profiles"])
    assert {"mall", "hospital", "healthfood", "pharmacy", "collect", "news"} <= set(profiles)


def test_a_profile_can_be_pointed_at_another_host(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, VALID)).with_base_url("https://mirror.example.cn/shop")
    assert profile.absolute_start_urls == ["https://mirror.example.cn/list"]
    assert profile.domain == "mirror.example.cn"


@pytest.mark.parametrize(
    ("spec", "kind"),
    [({"css": "h1::text(("}, "css"), ({"xpath": "//h1[@"}, "xpath"), ({"jmespath": "data.[["}, "jmespath")],
    ids=["css", "xpath", "jmespath"],
)
def test_selectors_that_do_not_compile_fail_at_load(tmp_path: Path, spec: dict, kind: str) -> None:
    data = with_changes(items=[{"name": "product", "url_pattern": "/i", "fields": {"title": spec}}])
    with pytest.raises(ProfileError, match=rf"items\[0\] \(product\): field 'fields.title.{kind}': invalid {kind}"):
        load_profile(write(tmp_path, data))
