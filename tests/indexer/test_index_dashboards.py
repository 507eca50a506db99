"""The saved dashboards chart fields the hits mapping really has, and are what build.py writes."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from indexer.bodies import HIT_PROPERTIES

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
