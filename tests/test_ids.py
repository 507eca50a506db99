"""Golden ids: the formulas behind every stored decision, evidence package and index document.

A hit's id keys its review decision, its evidence and its search documents; an ad's key and its
content hash do the same for the ad.  These values were computed once by hand (``hashlib`` over the
documented inputs) and are written here as literals: if a formula changes, these tests fail, and the
change needs a migration of every stored id instead of silently orphaning them.
"""

from __future__ import annotations

from crawler.items import AdItem
from crawler.pipelines.normalise import content_hash
from crawler.urls import canonical_url
from indexer.documents import ad_key
from indexer.sqlite import hit_id

URL = "http://127.0.0.1/item/1001.html"
AD = AdItem(url=URL, site="mall", canonical_url=URL, title="三天根治糖尿病", body="有效率99.8%，无效全额退款。",
            prices=[199.0, 299.0], seller="康宁大药房", image_alts=["主图"])
CONTENT_HASH = "14503ebbd79710d7823ca0d34cd559e00b11d174e66d970176caf5fa3a0ee887"


def test_the_content_hash_is_sha256_over_what_a_reader_sees() -> None:
    assert content_hash(AD) == CONTENT_HASH


def test_the_content_hash_ignores_where_and_when_the_ad_was_seen() -> None:
    elsewhere = AdItem(url=URL + "?from=home", site="other", canonical_url="http://x/", title=AD.title,
                       body=AD.body, prices=AD.prices, seller=AD.seller, image_alts=AD.image_alts,
                       fetched_at="2026-11-11T00:00:00+00:00")
    assert content_hash(elsewhere) == CONTENT_HASH


def test_an_ads_key_is_the_first_20_hex_digits_of_sha1_of_its_canonical_url() -> None:
    assert ad_key(URL) == "605c60ffd49484426f34"


def test_a_hits_id_is_built_from_url_content_rule_and_place() -> None:
    assert hit_id(URL, CONTENT_HASH, "ad16-cure-rate", 2) == "5e579c0237e370d5087c"


def test_tracking_parameters_and_fragments_do_not_make_a_new_ad() -> None:
    assert canonical_url("http://127.0.0.1/item/1001.html?utm_source=wx&b=2&a=1#top") == (
        "http://127.0.0.1/item/1001.html?a=1&b=2"
    )
