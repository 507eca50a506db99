"""Search words are jieba's words, the dictionary takes the rulebook's words, and ADWATCH_INDEX parses."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

import jieba
import lxml.html
import pytest

from crawler.encoding import detect
from indexer.config import IndexConfigError, IndexTarget, parse_index_url
from indexer.tokenize import add_words, tokens
from rules.evaluate import DEFAULT_DEVSET_DIR, read_items
from tests.conftest import unavailable

REPO = Path(__file__).resolve().parents[2]
REALWEB = Path(os.environ.get("ADWATCH_REALWEB_DIR") or REPO.parent / "shared" / "realweb")
PAGE_CHARS = 20_000  # Python jieba, the reference, cuts about 0.5 MB/s


def _devset_texts() -> list[str]:
    return [item.text for item in read_items(DEFAULT_DEVSET_DIR)]


def _real_page_texts() -> list[str]:
    manifest = REALWEB / "manifest.jsonl"
    if not manifest.is_file():
        unavailable(f"real saved pages not found: no manifest.jsonl in {REALWEB} (set ADWATCH_REALWEB_DIR)")
    texts = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        raw = (REALWEB / json.loads(line)["file"]).read_bytes()
        root = lxml.html.fromstring(raw.decode(detect(raw), "replace"))
        for node in root.xpath("//script|//style"):
            node.drop_tree()
        texts.append(root.text_content()[:PAGE_CHARS])
    return texts


@pytest.fixture(scope="module")
def reference_jieba() -> jieba.Tokenizer:
    """The Python jieba the search words must equal (a test dependency only)."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _reference_tokens(tokenizer: jieba.Tokenizer, text: str) -> list[str]:
    words = (re.sub(r"[^\w]+", "", word) for word in tokenizer.cut_for_search(text, HMM=False))
    return [word.lower() for word in words if word]


@pytest.mark.parametrize("texts", [_devset_texts, _real_page_texts], ids=["devset", "saved-real-pages"])
def test_search_words_are_the_words_python_jieba_cuts(
    reference_jieba: jieba.Tokenizer, texts: Callable[[], list[str]]
) -> None:
    """jieba-rs (rjieba) stands in for Python jieba: on every text, the same words in the same order."""
    for text in texts():
        assert tokens(text) == _reference_tokens(reference_jieba, text), text[:80]


def test_a_lone_surrogate_is_no_word() -> None:
    assert tokens("降糖\ud851茶") == tokens("降糖 茶")


def test_extra_words_join_the_dictionary_and_cut_queries_the_same_way() -> None:
    assert "御龙养元丹" not in tokens("服用御龙养元丹三天")
    assert add_words(["御龙养元丹", " "]) == 1
    assert "御龙养元丹" in tokens("服用御龙养元丹三天")
    assert "御龙养元丹" in tokens("御龙养元丹")
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
