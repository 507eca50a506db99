"""Every request body AdWatch sends to Elasticsearch or OpenSearch: names, templates, bulk actions, queries.

Shared by both engines (the per-client adapters in ``indexer/clients.py`` only
carry these bodies).  Everything here uses core APIs and core analyzers only —
``standard`` for raw Chinese text and ``whitespace`` for text cut in Python:
``text_tokens`` (jieba words, for ranking) and ``grams`` (the folded text one
character a token, :func:`indexer.tokenize.gram_string`, for matching) — so
it works on a stock cluster without plugins, scripting or the reindex module
(the ``ngram`` tokenizer and the ``mapping`` char filter live in the
``analysis-common`` module, which a minimal node lacks, and no core analyzer
folds traditional characters).  A search term is a ``match_phrase`` on
``grams``: its characters at consecutive positions, i.e. exactly where they
stand together, as the SQLite store's trigram table finds it.

Layout (``p`` is ``ADWATCH_INDEX_PREFIX``, ``N`` is :data:`MAPPING_VERSION`)::

    alias p-ads   → index p-ads-vN            one document per ad (its latest version)
    alias p-hits  → indices p-hits-vN-YYYY.MM  one document per rule hit, monthly by fetch time
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from indexer.backend import AD_FIELDS, AGGREGATIONS, AdQuery, AdResults, HitQuery, HitResults
from indexer.documents import HIT_FIELDS, month, new_review_fields
from indexer.highlight import mark_fragments, query_words
from indexer.query import SearchText, parse
from indexer.tokenize import gram_string, tokens

#: Bump when a mapping changes; ``adwatch index rebuild`` then fills the new indices and swaps the aliases.
#: 2: ``grams``, the folded text one character a token, which search terms are matched on.
MAPPING_VERSION = 2

Action = tuple[dict[str, Any], dict[str, Any]]

_KEYWORD = {"type": "keyword"}
_STORED_ONLY = {"type": "keyword", "index": False, "doc_values": False}
_RAW_TEXT = {"type": "text", "analyzer": "standard"}
_CUT_TEXT = {"type": "text", "analyzer": "whitespace"}
_DATE = {"type": "date"}

_TEXT_FIELDS = {"title": _RAW_TEXT, "text": _RAW_TEXT, "grams": _CUT_TEXT, "text_tokens": _CUT_TEXT,
                "title_tokens": _CUT_TEXT,
                "seller": _KEYWORD, "url": _KEYWORD, "canonical_url": _KEYWORD, "site": _KEYWORD,
                "ad_key": _KEYWORD, "content_hash": _KEYWORD, "risk": {"type": "float"}, "fetched_at": _DATE,
                "raw_ref": _STORED_ONLY}

HIT_PROPERTIES: dict[str, Any] = {
    **_TEXT_FIELDS,
    **{name: _KEYWORD for name in ("hit_id", "rule_id", "law", "article", "article_key", "severity", "category",
                                   "matched", "review_status", "reviewer")},
    "start": {"type": "integer"}, "end": {"type": "integer"}, "current": {"type": "boolean"},
    "day": {"type": "date", "format": "yyyy-MM-dd"}, "reviewed_at": _DATE, "review_reason": _RAW_TEXT,
    "explanation": _STORED_ONLY, "penalty": _STORED_ONLY, "context": _RAW_TEXT,
}

AD_PROPERTIES: dict[str, Any] = {
    **_TEXT_FIELDS,
    "prices": {"type": "float"}, "price_texts": _KEYWORD, "category_hints": _KEYWORD, "image_alts": _RAW_TEXT,
    "categories": _KEYWORD, "first_seen": _DATE, "last_seen": _DATE, "http_status": {"type": "integer"},
    "versions": {"properties": {"content_hash": _KEYWORD, "fetched_at": _DATE}},
    "version_count": {"type": "integer"}, "hit_ids": _KEYWORD, "hit_count": {"type": "integer"},
    "articles": _KEYWORD,
}


class Names:
    """Index, alias and template names for one prefix and mapping version."""

    def __init__(self, prefix: str, version: int = MAPPING_VERSION) -> None:
        self.prefix, self.version = prefix, version
        self.ads_alias, self.hits_alias = f"{prefix}-ads", f"{prefix}-hits"
        self.ads_index = f"{prefix}-ads-v{version}"
        self.hits_pattern = f"{prefix}-hits-v{version}-*"
        self.ads_template, self.hits_template = f"{prefix}-ads-v{version}", f"{prefix}-hits-v{version}"

    def hits_index(self, timestamp: str) -> str:
        return f"{self.prefix}-hits-v{self.version}-{month(timestamp)}"

    def version_of(self, index: str) -> int | None:
        """The mapping version in an index name of this prefix, e.g. ``adwatch-hits-v2-2026.11`` → 2."""
        for kind in ("ads", "hits"):
            head = f"{self.prefix}-{kind}-v"
            if index.startswith(head):
                digits = index[len(head):].split("-", 1)[0]
                return int(digits) if digits.isdigit() else None
        return None


# --- lifecycle ---

def index_template(patterns: list[str], properties: dict[str, Any], alias: str | None, replicas: int,
                   version: int) -> dict[str, Any]:
    """A composable index template; ``alias`` is left out while a new mapping version is being filled."""
    template: dict[str, Any] = {
        "settings": {"number_of_shards": 1, "number_of_replicas": replicas},
        "mappings": {"dynamic": "strict", "properties": properties},
    }
    if alias:
        template["aliases"] = {alias: {}}
    return {"index_patterns": patterns, "priority": 100 + version, "version": version, "template": template,
            "_meta": {"managed_by": "adwatch", "mapping_version": version}}


def templates(names: Names, replicas: int, with_aliases: bool) -> dict[str, dict[str, Any]]:
    """Template name → body, for the ads index and the monthly hits indices."""
    return {
        names.ads_template: index_template([names.ads_index], AD_PROPERTIES,
                                           names.ads_alias if with_aliases else None, replicas, names.version),
        names.hits_template: index_template([names.hits_pattern], HIT_PROPERTIES,
                                            names.hits_alias if with_aliases else None, replicas, names.version),
    }


def alias_swap(old: Names | None, new: Names) -> dict[str, Any]:
    """One atomic ``_aliases`` body moving both read aliases from ``old``'s indices to ``new``'s."""
    actions: list[dict[str, Any]] = []
    if old is not None:
        actions += [{"remove": {"index": old.ads_index, "alias": old.ads_alias}},
                    {"remove": {"index": old.hits_pattern, "alias": old.hits_alias}}]
    actions += [{"add": {"index": new.ads_index, "alias": new.ads_alias}},
                {"add": {"index": new.hits_pattern, "alias": new.hits_alias}}]
    return {"actions": actions}


# --- writing ---

def hit_upsert(index: str, doc: dict[str, Any]) -> Action:
    """Partial update with upsert: crawl fields overwrite, review state survives (no script needed)."""
    upsert = {**new_review_fields(), **doc}
    return ({"update": {"_index": index, "_id": doc["hit_id"], "retry_on_conflict": 3}},
            {"doc": doc, "upsert": upsert})


def hit_create(index: str, doc: dict[str, Any]) -> Action:
    """A hit of content the index has never seen: a plain insert (an existing document is left as it is)."""
    return ({"create": {"_index": index, "_id": doc["hit_id"]}}, {**new_review_fields(), **doc})


def hit_supersede(index: str, hit_id: str) -> Action:
    """Mark a hit of an older version of its ad as no longer current."""
    return ({"update": {"_index": index, "_id": hit_id, "retry_on_conflict": 3}}, {"doc": {"current": False}})


def ad_put(index: str, doc: dict[str, Any]) -> Action:
    return ({"index": {"_index": index, "_id": doc["ad_key"]}}, doc)


def ad_seen(index: str, key: str, last_seen: str) -> Action:
    return ({"update": {"_index": index, "_id": key, "retry_on_conflict": 3}}, {"doc": {"last_seen": last_seen}})


def refresh_setting(interval: int | None) -> dict[str, Any]:
    """``-1`` turns refreshing off; ``None`` restores the engine's default."""
    return {"index": {"refresh_interval": interval}}


def review_update(review: dict[str, Any]) -> dict[str, Any]:
    return {"doc": review}


PREVIOUS_AD_FIELDS = ["content_hash", "fetched_at", "first_seen", "last_seen", "versions", "hit_ids"]


def mget_previous(keys: list[str]) -> dict[str, Any]:
    return {"ids": keys}


def ad_states_page(size: int, after: list[Any] | None) -> dict[str, Any]:
    """One page of every ad's :data:`PREVIOUS_AD_FIELDS`, in ad-key order (read once to start a ledger)."""
    body: dict[str, Any] = {"size": size, "sort": [{"ad_key": "asc"}], "_source": PREVIOUS_AD_FIELDS,
                            "query": {"match_all": {}}, "track_total_hits": False}
    if after is not None:
        body["search_after"] = after
    return body


# --- querying ---

def _term_clause(term: str) -> dict[str, Any]:
    """Documents whose folded text holds ``term``: its characters at consecutive positions of ``grams``."""
    return {"match_phrase": {"grams": gram_string(term)}}


def search_clause(search: SearchText) -> dict[str, Any]:
    """A parsed query: every group (any of its terms) held, no excluded term held."""
    must = [_term_clause(group[0]) if len(group) == 1 else
            {"bool": {"should": [_term_clause(term) for term in group], "minimum_should_match": 1}}
            for group in search.groups]
    clause: dict[str, Any] = {"must": must or [{"match_all": {}}]}
    if search.excluded:
        clause["must_not"] = [_term_clause(term) for term in search.excluded]
    return {"bool": clause}


def text_clause(text: str) -> dict[str, Any]:
    """The clause for a query's text (:mod:`indexer.query`); a text with nothing to look for matches nothing."""
    search = parse(text)
    return {"match_none": {}} if search.empty else search_clause(search)


def _rank_clause(search: SearchText) -> dict[str, Any] | None:
    """Scores by the jieba words of the wanted terms (ranking only: it never decides what matches)."""
    words = list(dict.fromkeys(word for term in search.wanted for word in tokens(term)))
    return {"match": {"text_tokens": {"query": " ".join(words)}}} if words else None


def _filters(query: HitQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    for field, values in (("site", query.sites), ("article_key", query.articles), ("rule_id", query.rule_ids),
                          ("severity", query.severities), ("category", query.categories),
                          ("review_status", query.statuses), ("hit_id", query.hit_ids),
                          ("canonical_url", query.canonical_urls), ("seller", query.sellers)):
        if values:
            filters.append({"terms": {field: list(values)}})
    if query.current_only:
        filters.append({"term": {"current": True}})
    bounds = {key: value for key, value in (("gte", query.day_from), ("lte", query.day_to)) if value}
    if bounds:
        filters.append({"range": {"day": bounds}})
    return filters


def beijing_day_range(day_from: str, day_to: str) -> dict[str, str]:
    """Bounds of a time field for Beijing dates ``day_from`` … ``day_to`` (either may be empty)."""
    bounds = {}
    if day_from:
        bounds["gte"] = f"{day_from}T00:00:00+08:00"
    if day_to:
        bounds["lt"] = f"{date.fromisoformat(day_to) + timedelta(days=1)}T00:00:00+08:00"
    return bounds


def _aggregation(name: str) -> dict[str, Any]:
    field = AGGREGATIONS[name]
    if name == "day":
        return {"date_histogram": {"field": field, "calendar_interval": "day", "format": "yyyy-MM-dd",
                                   "min_doc_count": 1}}
    return {"terms": {"field": field, "size": 100}}


def hit_search(query: HitQuery) -> dict[str, Any]:
    """The search body for a reviewer's hit query (with text: the text too, to highlight it as SQLite does)."""
    bool_query: dict[str, Any] = {"filter": _filters(query)}
    if query.text:
        bool_query["must"] = [text_clause(query.text)]
    fields = [*HIT_FIELDS, "text"] if query.text else list(HIT_FIELDS)
    body: dict[str, Any] = {
        "query": {"bool": bool_query}, "size": query.size, "from": query.offset, "track_total_hits": True,
        "sort": [{"risk": "desc"}, {"hit_id": "asc"}], "_source": {"includes": fields},
    }
    if query.aggregations:
        body["aggs"] = {name: _aggregation(name) for name in query.aggregations}
    return body


def ids_query(ids: list[str], size: int | None = None) -> dict[str, Any]:
    return {"query": {"ids": {"values": ids}}, "size": size or len(ids), "_source": {"includes": list(HIT_FIELDS)}}


def parse_hits(response: dict[str, Any], text: str = "") -> HitResults:
    """A search response as :class:`HitResults` (sources trimmed to the reviewer's fields).

    With the query's ``text``, every hit gets ``highlight``: fragments of its text with the terms marked
    (:func:`indexer.highlight.mark_fragments`, as on SQLite), if need be none.
    """
    outer = response["hits"]
    words = query_words(text) if text else None
    hits = []
    for raw in outer["hits"]:
        hit = {key: raw["_source"].get(key) for key in HIT_FIELDS}
        if words is not None:
            hit["highlight"] = mark_fragments(raw["_source"].get("text", ""), words)
        hits.append(hit)
    aggregations = {name: {_bucket_key(b): b["doc_count"] for b in agg["buckets"]}
                    for name, agg in response.get("aggregations", {}).items()}
    return HitResults(total=_total(outer), hits=hits, aggregations=aggregations)


def _total(outer: dict[str, Any]) -> int:
    return outer["total"]["value"] if isinstance(outer["total"], dict) else outer["total"]


_AD_SOURCE = [name for name in AD_FIELDS if name != "highlight"]

#: Values one ``terms`` query may carry (both engines' default ``index.max_terms_count``).
MAX_TERMS = 65536

#: Sort of each ad order, as SQLite sorts (:data:`indexer.sqlite._AD_ORDER`): ties go by canonical URL.
_AD_SORT = {"relevance": [{"_score": "desc"}, {"fetched_at": "desc"}, {"canonical_url": "asc"}],
            "time": [{"fetched_at": "desc"}, {"canonical_url": "asc"}],
            "risk": [{"risk": "desc"}, {"canonical_url": "asc"}]}


def _ad_filters(query: AdQuery, ad_keys: list[str] | None) -> list[dict[str, Any]]:
    """Filters of an ad query; ``ad_keys``: the ads a hit in one of ``query.statuses`` belongs to."""
    filters = [{"terms": {field: list(values)}} for field, values in (
        ("site", query.sites), ("categories", query.categories), ("articles", query.articles)) if values]
    if ad_keys is not None:
        chunks = [ad_keys[start:start + MAX_TERMS] for start in range(0, len(ad_keys), MAX_TERMS)]
        filters.append({"bool": {"should": [{"terms": {"ad_key": chunk}} for chunk in chunks],
                                 "minimum_should_match": 1}})
    bounds = beijing_day_range(query.day_from, query.day_to)
    if bounds:
        filters.append({"range": {"fetched_at": bounds}})
    return filters


def ad_search(query: AdQuery, ad_keys: list[str] | None = None) -> dict[str, Any]:
    """The search body for an ad query (see :class:`~indexer.backend.AdQuery`), text fetched for highlighting."""
    search = parse(query.text)
    bool_query: dict[str, Any] = {"filter": _ad_filters(query, ad_keys)}
    if query.text.strip():
        bool_query["must"] = [text_clause(query.text)]
        rank = _rank_clause(search) if query.sort == "relevance" else None
        if rank:
            bool_query["should"] = [rank]
    return {"query": {"bool": bool_query}, "size": query.size, "from": query.offset, "track_total_hits": True,
            "sort": _AD_SORT[query.sort], "_source": {"includes": [*_AD_SOURCE, "text"]}}


def ads_with_status(statuses: tuple[str, ...], after: dict[str, Any] | None, page: int = 10000) -> dict[str, Any]:
    """One page of the ad keys with a current hit in one of ``statuses`` (a composite aggregation)."""
    sources = [{"ad_key": {"terms": {"field": "ad_key"}}}]
    composite: dict[str, Any] = {"size": page, "sources": sources}
    if after is not None:
        composite["after"] = after
    return {"size": 0, "track_total_hits": False, "aggs": {"ads": {"composite": composite}},
            "query": {"bool": {"filter": [{"terms": {"review_status": list(statuses)}}, {"term": {"current": True}}]}}}


def parse_ads(response: dict[str, Any], text: str) -> AdResults:
    """An ad search response as :class:`AdResults`, each ad's terms marked (as on SQLite)."""
    outer = response["hits"]
    words = query_words(text)
    ads = [{**{key: raw["_source"].get(key) for key in _AD_SOURCE},
            "highlight": mark_fragments(raw["_source"].get("text", ""), words)} for raw in outer["hits"]]
    return AdResults(total=_total(outer), ads=ads)


def _bucket_key(bucket: dict[str, Any]) -> str:
    return str(bucket.get("key_as_string", bucket["key"]))


def all_docs(sort_field: str, size: int, after: list[Any] | None) -> dict[str, Any]:
    """A page of every document in sort order (``search_after`` paging, core API only)."""
    body: dict[str, Any] = {"query": {"match_all": {}}, "size": size, "sort": [{sort_field: "asc"}]}
    if after:
        body["search_after"] = after
    return body


def by_ad_keys(keys: list[str]) -> dict[str, Any]:
    return {"query": {"bool": {"filter": [{"terms": {"ad_key": keys}}, {"term": {"current": True}}]}},
            "size": 10000, "sort": [{"hit_id": "asc"}]}
