from __future__ import annotations

from collections import Counter

from sandbox.catalog import CATEGORIES
from sandbox.manifest import ARTICLE_KEYS, EDITORIAL, TRAPS, load_manifest
from sandbox.server import SITES


def test_manifest_size_and_sites() -> None:
    manifest = load_manifest()
    assert len(manifest) >= 300
    assert {t.site for t in manifest} == set(SITES)


def test_manifest_mix_of_compliant_and_violating() -> None:
    manifest = load_manifest()
    share = sum(t.compliant for t in manifest) / len(manifest)
    assert 0.40 <= share <= 0.60
    for category in CATEGORIES:
        in_category = [t for t in manifest if t.category == category]
        assert any(t.compliant for t in in_category), category
        assert any(not t.compliant for t in in_category), category


def test_every_article_key_is_known_and_used() -> None:
    used = Counter(key for t in load_manifest() for key in t.violations)
    assert set(used) == set(ARTICLE_KEYS)


def test_manifest_is_deterministic_and_paths_unique() -> None:
    first, second = load_manifest(), load_manifest()
    assert first == second
    assert len({(t.site, t.path) for t in first}) == len(first)
    assert len({t.ad_id for t in first}) == len(first)


def test_every_ad_has_title_and_seller() -> None:
    for truth in load_manifest():
        assert truth.title and truth.seller, truth.ad_id
        assert truth.path.startswith("/"), truth.ad_id


def test_traps_are_listed_per_site() -> None:
    assert set(TRAPS) == set(SITES)
    mall = TRAPS["mall"]
    kinds = ("robots_disallowed", "redirects", "not_found", "server_error", "tracking_duplicates", "calendar", "slow")
    for kind in kinds:
        assert mall[kind], kind
    assert EDITORIAL["news"]
    ad_paths = {t.path for t in load_manifest() if t.site == "news"}
    assert not ad_paths & set(EDITORIAL["news"])
