"""The search dictionary takes the rulebook's words, and ADWATCH_INDEX parses into a backend."""

from __future__ import annotations

import pytest

from indexer.bodies import text_clause
from indexer.config import IndexConfigError, IndexTarget, parse_index_url
from indexer.tokenize import add_words, tokens


def test_extra_words_join_the_dictionary_and_cut_queries_the_same_way() -> None:
    assert "御龙养元丹" not in tokens("服用御龙养元丹三天")
    assert add_words(["御龙养元丹", " "]) == 1
    assert "御龙养元丹" in tokens("服用御龙养元丹三天")
    assert text_clause("御龙养元丹")["match"]["text_tokens"]["query"] == "御龙养元丹"
    assert add_words(["御龙养元丹"]) == 0


@pytest.mark.parametrize(("url", "target"), [
    ("", IndexTarget("sqlite", "data/adwatch.db")),
    ("sqlite:///var/adwatch.db", IndexTarget("sqlite", "var/adwatch.db")),
    ("sqlite:////srv/adwatch.db", IndexTarget("sqlite", "/srv/adwatch.db")),
    ("opensearch+http://127.0.0.1:9200", IndexTarget("opensearch", "http://127.0.0.1:9200")),
    ("es+https://user:pw@es.example:9243", IndexTarget("es", "https://user:pw@es.example:9243")),
    ("elasticsearch+http://es:9200", IndexTarget("es", "http://es:9200")),
])
def test_index_urls(url: str, target: IndexTarget) -> None:
    assert parse_index_url(url, "data/adwatch.db") == target


@pytest.mark.parametrize("url", ["http://es:9200", "solr+http://s:8983", "es+ftp://h", "es+https://"])
def test_unknown_index_urls_are_refused(url: str) -> None:
    with pytest.raises(IndexConfigError, match="ADWATCH_INDEX"):
        parse_index_url(url, "data/adwatch.db")
