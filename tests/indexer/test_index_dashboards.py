"""The saved dashboards chart fields the hits mapping really has, and are what build.py writes."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from indexer.bodies import HIT_PROPERTIES
from indexer.engine import EngineIndex
from tests.indexer.items import catalogue

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


@pytest.mark.parametrize("name", ["kibana.ndjson", "opensearch-dashboards.ndjson"])
def test_saved_objects_use_mapped_fields_and_resolve_their_references(name: str) -> None:
    objects = [json.loads(line) for line in (DASHBOARDS / name).read_text(encoding="utf-8").splitlines()]
    ids = {(o["type"], o["id"]) for o in objects}
    assert {o["type"] for o in objects} == {"index-pattern", "visualization", "dashboard"}
    for saved in objects:
        assert all((ref["type"], ref["id"]) in ids for ref in saved["references"])
        if saved["type"] == "visualization":
            fields = {a["params"]["field"] for a in json.loads(saved["attributes"]["visState"])["aggs"] if a["params"]}
            assert fields <= set(HIT_PROPERTIES)
    build = runpy.run_path(str(DASHBOARDS / "build.py"))
    assert objects == build["objects"]("adwatch")


def fields_used(saved: dict) -> dict[str, str]:
    """Each field a visualisation aggregates on, with the aggregation that needs it."""
    aggs = json.loads(saved["attributes"]["visState"])["aggs"]
    return {a["params"]["field"]: a["type"] for a in aggs if a["params"].get("field")}


def test_saved_objects_load_against_the_real_engines_mapping(engine_backend: EngineIndex) -> None:
    """Every field a chart aggregates on exists in the live hits index and can be aggregated; time is a date."""
    engine_backend.index_items(catalogue())
    engine_backend.refresh()
    name = "kibana.ndjson" if engine_backend.client.engine == "es" else "opensearch-dashboards.ndjson"
    build = runpy.run_path(str(DASHBOARDS / "build.py"))
    objects = build["objects"](engine_backend.names.prefix)
    assert [o["type"] for o in objects] == [json.loads(line)["type"] for line in
                                            (DASHBOARDS / name).read_text(encoding="utf-8").splitlines()]
    [pattern] = [o["attributes"] for o in objects if o["type"] == "index-pattern"]
    used = {pattern["timeFieldName"]: "date_histogram"}
    for saved in objects:
        if saved["type"] == "visualization":
            used.update(fields_used(saved))
    caps = engine_backend.client.request("GET", f"/{pattern['title']}/_field_caps",
                                         params={"fields": ",".join(sorted(used))})["fields"]
    assert sorted(caps) == sorted(used)
    for field, aggregation in used.items():
        [(kind, cap)] = caps[field].items()
        assert cap["aggregatable"], (field, kind)
        if aggregation == "date_histogram":
            assert kind == "date", field
