"""The ``rules`` CLI contract: JSON lines in, one JSON line out per input line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rules.cli import rules

HIT_KEYS = {"rule_id", "law", "article", "severity", "matched", "start", "end", "explanation", "kind", "see_also"}


def _strict(constant: str) -> None:
    raise AssertionError(f"{constant} in the output is not JSON")


def run(args: list[str], stdin: str | bytes = "") -> tuple[int, list[dict], str]:
    """Invoke the CLI; its output lines are parsed as strict JSON (NaN or Infinity fail the test)."""
    result = CliRunner().invoke(rules, args, input=stdin)
    lines = [json.loads(line, parse_constant=_strict) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, lines, result.stderr


def test_jsonl_contract() -> None:
    stdin = "\n".join(
        [
            json.dumps({"id": "a", "text": "全网最低价"}, ensure_ascii=False),
            json.dumps(
                {"id": 7, "text": "这款养生茶可以治疗失眠", "category": "food", "title": "养生茶"}, ensure_ascii=False
            ),
            json.dumps({"id": "c", "text": "纯棉T恤，透气舒适"}, ensure_ascii=False),
        ]
    )
    code, lines, _stderr = run(["check", "-", "--format", "jsonl"], stdin)
    assert code == 0
    assert [line["id"] for line in lines] == ["a", 7, "c"]
    first, second, third = lines
    assert set(first) == {"id", "flagged", "categories", "hits"}
    assert first["flagged"] and set(first["hits"][0]) == HIT_KEYS
    false_publicity = "、反不正当竞争法第八条"
    assert first["hits"][0]["article"] == "广告法第九条第三项；另见广告法第二十八条、广告法第四条" + false_publicity
    articles = {hit["article"] for hit in second["hits"]}
    see_also = "；另见广告法第二十八条、广告法第四条"
    assert {"广告法第十七条" + see_also + false_publicity, "食品安全法第七十三条第一款" + see_also} <= articles
    assert {tuple(hit["see_also"]) for hit in second["hits"]} == {
        ("广告法第二十八条", "广告法第四条", "反不正当竞争法第八条"),
        ("广告法第二十八条", "广告法第四条"),
    }
    assert second["categories"] == ["food"]
    assert third == {"id": "c", "flagged": False, "categories": ["general"], "hits": []}


def test_bad_lines_are_reported_not_dropped() -> None:
    stdin = '{"id": 1, "text": "最好"}\nnot json\n{"id": 3}\n{"text": "no id"}\n{"id": 5, "text": "第一次购买"}\n'
    code, lines, stderr = run(["check", "-"], stdin)
    assert code == 1
    assert len(lines) == 5
    assert [line.get("line") for line in lines] == [None, 2, 3, 4, None]
    assert "line 2: invalid JSON" in stderr and "line 3: field 'text' must be a string" in stderr
    assert "line 4: missing field 'id'" in stderr
    assert lines[2]["id"] == 3 and "error" in lines[2]


def test_bytes_that_are_not_utf8_get_an_error_line_and_the_rest_are_checked() -> None:
    stdin = (
        b'\xef\xbb\xbf{"id": 1, "text": "\xe6\x9c\x80\xe5\xa5\xbd"}\n'
        b'{"id": 2, "text": "\xff\xfe"}\n'
        b'{"id": 3, "text": "ok"}\n'
    )
    code, lines, stderr = run(["check", "-"], stdin)
    assert code == 1
    assert [line["id"] for line in lines] == [1, 2, 3]
    assert lines[0]["hits"][0]["matched"] == "最好"  # a byte-order mark may start the input
    assert lines[1] == {"id": 2, "line": 2, "error": "not UTF-8: byte 0xff at byte 20"}
    assert "line 2: not UTF-8" in stderr
    assert lines[2]["flagged"] is False


def test_a_lone_surrogate_escaped_in_json_becomes_a_replacement_character() -> None:
    """It cannot be written out (nor scanned, nor cut); replacing it keeps every offset."""
    code, lines, _stderr = run(["check", "-"], '{"id": "s\\udc00", "text": "根治\\ud851糖尿病，有效率98%"}\n')
    assert code == 0
    (line,) = lines
    assert line["id"] == "s\ufffd"
    assert [(hit["matched"], hit["start"], hit["end"]) for hit in line["hits"]] == [
        ("根治\ufffd糖尿病", 0, 6),
        ("有效率", 7, 10),
    ]


def test_text_report_explains_each_hit() -> None:
    result = CliRunner().invoke(rules, ["check", "--text", "本品根治糖尿病，有效率98%"])
    assert result.exit_code == 0
    out = result.stdout
    assert "根治糖尿病" in out and "有效率" in out
    assert out.count("广告法第十七条") >= 2 and "说明" in out and "罚则" in out


def test_list_shows_rules() -> None:
    result = CliRunner().invoke(rules, ["list", "--json"])
    data = json.loads(result.stdout)
    assert data["version"] and any(rule["id"] == "ad9-superlative" for rule in data["rules"])


def test_eval_json(tmp_path: Path) -> None:
    items = [
        {"id": "1", "text": "全网最低价", "category": "general", "violations": ["广告法第九条"]},
        {"id": "2", "text": "第一次购买享九折", "category": "general", "violations": []},
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items), encoding="utf-8")
    result = CliRunner().invoke(rules, ["eval", str(path), "--json"])
    overall = json.loads(result.stdout)["overall"]
    assert overall["precision"] == overall["recall"] == overall["article_accuracy"] == 1.0
    table = CliRunner().invoke(rules, ["eval", str(path)]).stdout
    assert "精确率" in table and "precision" in table


def test_python_dash_m_smoke() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rules", "check", "-"],
        input='{"id": "x", "text": "国家级品质"}\n',
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hits"][0]["rule_id"] == "ad9-superlative"


@pytest.mark.parametrize(
    ("bad_line", "message", "line_id"),
    [
        ('{"id": "deep", "text": ' + "[" * 1000 + "]" * 1000 + "}", "nested too deeply", "deep"),
        ('{"id": "big", "text": "x", "n": ' + "9" * 5000 + "}", "a number has too many digits", "big"),
        ('{"id": "nan", "text": "x", "n": NaN}', "NaN is not a JSON number", "nan"),
        ('{"id": 1e999, "text": "x"}', "1e999 is out of range", None),
    ],
    ids=["nested-1000-deep", "5000-digit-integer", "nan", "infinity"],
)
def test_hostile_json_costs_one_line_and_the_output_stays_strict_json(
    bad_line: str, message: str, line_id: str | None
) -> None:
    """#19: such a line used to abort the whole run, or to be echoed back as invalid JSON (NaN, Infinity)."""
    stdin = f'{bad_line}\n{{"id": "after", "text": "全网最低价"}}\n'
    code, lines, stderr = run(["check", "-"], stdin)
    assert code == 1 and message in stderr
    assert (lines[0]["id"], lines[0]["line"]) == (line_id, 1) and message in lines[0]["error"]
    assert lines[1]["id"] == "after" and lines[1]["flagged"]


def test_a_line_past_the_limit_gets_an_error_record_without_being_read_whole() -> None:
    """#19: one 50 MB line took 2.4 GB; a line past --max-line-bytes is skipped in chunks, its id read off its start."""
    huge = '{"id": "huge", "text": "' + "最好" * 40_000 + '"}'
    stdin = f'{huge}\n{{"id": "next", "text": "最好"}}\n'
    code, lines, stderr = run(["check", "-", "--max-line-bytes", "65536"], stdin)
    assert code == 1 and "line 1: line longer than 65536 bytes" in stderr
    assert lines[0] == {"id": "huge", "line": 1, "error": "line longer than 65536 bytes"}
    assert lines[1]["id"] == "next" and lines[1]["flagged"]
