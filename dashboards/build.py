"""Write the saved objects for Kibana and OpenSearch Dashboards (index pattern, visualisations, one dashboard).

    .venv/bin/python dashboards/build.py                     # default prefix "adwatch"
    .venv/bin/python dashboards/build.py --prefix city-adwatch

Both products import the same 7.10-style objects (OpenSearch Dashboards is a
fork of Kibana 7.10; Kibana 8 migrates them on import); only the file names
and the import header differ (see README, "The search index").
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COUNT = {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}}
TABLE = {"perPage": 20, "showPartialRows": False, "showMetricsAtAllLevels": False, "showTotal": True,
         "totalFunc": "sum", "percentageCol": ""}
LINE = {
    "type": "line", "grid": {"categoryLines": False},
    "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True, "style": {},
                      "scale": {"type": "linear"}, "labels": {"show": True, "filter": True, "truncate": 100},
                      "title": {}}],
    "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": True,
                   "style": {}, "scale": {"type": "linear", "mode": "normal"},
                   "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                   "title": {"text": "命中 hits"}}],
    "seriesParams": [{"show": True, "type": "line", "mode": "normal", "data": {"label": "命中 hits", "id": "1"},
                      "valueAxis": "ValueAxis-1", "drawLinesBetweenPoints": True, "lineWidth": 2,
                      "interpolate": "linear", "showCircles": True}],
    "addTooltip": True, "addLegend": True, "legendPosition": "right", "times": [], "addTimeMarker": False,
    "labels": {}, "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
}


def terms(agg_id: str, field: str, schema: str, size: int = 20) -> dict[str, Any]:
    return {"id": agg_id, "enabled": True, "type": "terms", "schema": schema,
            "params": {"field": field, "size": size, "order": "desc", "orderBy": "1", "otherBucket": False,
                       "missingBucket": False}}


def by_day(agg_id: str) -> dict[str, Any]:
    return {"id": agg_id, "enabled": True, "type": "date_histogram", "schema": "segment",
            "params": {"field": "day", "interval": "d", "min_doc_count": 1, "extended_bounds": {}}}


VISUALISATIONS = {
    "hits-by-article": ("命中（按条款） Hits by article", "table", TABLE,
                        [COUNT, terms("2", "article_key", "bucket", 50)]),
    "hits-by-site": ("命中（按站点） Hits by site", "table", TABLE, [COUNT, terms("2", "site", "bucket", 50)]),
    "hits-by-day": ("命中（按日，按条款） Hits by day and article", "line", LINE,
                    [COUNT, by_day("2"), terms("3", "article_key", "group", 10)]),
    "top-advertisers": ("违法广告主排行 Top advertisers", "table", TABLE, [COUNT, terms("2", "seller", "bucket", 25)]),
}


def search_source(query: str, with_index: bool) -> str:
    source: dict[str, Any] = {"query": {"query": query, "language": "kuery"}, "filter": []}
    if with_index:
        source["indexRefName"] = "kibanaSavedObjectMeta.searchSourceJSON.index"
    return json.dumps(source, ensure_ascii=False)


def objects(prefix: str) -> list[dict[str, Any]]:
    pattern_id = f"{prefix}-hits"
    found = [{"type": "index-pattern", "id": pattern_id,
              "attributes": {"title": f"{prefix}-hits", "timeFieldName": "fetched_at"}, "references": []}]
    for key, (title, kind, params, aggs) in VISUALISATIONS.items():
        state = {"title": title, "type": kind, "params": params, "aggs": aggs}
        found.append({"type": "visualization", "id": f"{prefix}-{key}", "references": [
            {"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": pattern_id}],
            "attributes": {"title": title, "visState": json.dumps(state, ensure_ascii=False), "uiStateJSON": "{}",
                           "description": "", "version": 1, "kibanaSavedObjectMeta": {
                               "searchSourceJSON": search_source("current:true", with_index=True)}}})
    found.append(dashboard(prefix))
    return found


def dashboard(prefix: str) -> dict[str, Any]:
    panels, references = [], []
    for number, key in enumerate(VISUALISATIONS):
        grid = {"x": 24 * (number % 2), "y": 15 * (number // 2), "w": 24, "h": 15, "i": str(number + 1)}
        panels.append({"panelIndex": str(number + 1), "gridData": grid, "version": "7.10.2",
                       "panelRefName": f"panel_{number}", "embeddableConfig": {}})
        references.append({"name": f"panel_{number}", "type": "visualization", "id": f"{prefix}-{key}"})
    return {"type": "dashboard", "id": f"{prefix}-overview", "references": references, "attributes": {
        "title": "AdWatch 网络广告监测 · 命中概览 Hits overview",
        "description": "现行版本的命中 hits on current ad versions",
        "panelsJSON": json.dumps(panels), "optionsJSON": json.dumps({"useMargins": True, "hidePanelTitles": False}),
        "timeRestore": False, "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": search_source("", with_index=False)}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", default="adwatch", help="ADWATCH_INDEX_PREFIX of the indices to chart")
    args = parser.parse_args()
    lines = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects(args.prefix))
    for name in ("kibana.ndjson", "opensearch-dashboards.ndjson"):
        (HERE / name).write_text(lines, encoding="utf-8")
        print(HERE / name)


if __name__ == "__main__":
    main()
