"""``adwatch demo`` when another program (another sandbox, say) holds the sandbox's ports."""

from __future__ import annotations

from pathlib import Path

from sandbox.server import DEFAULT_PORT_BASE
from tests.conftest import held_port, run_adwatch


def test_demo_whose_default_port_is_taken_crawls_on_free_ports_and_names_the_busy_one(tmp_path: Path) -> None:
    with held_port(DEFAULT_PORT_BASE) as port:
        run = run_adwatch(["demo", "--json"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"端口 {port}" in run.stderr
    summary = run.json()
    assert summary["ads"] >= 300
    assert summary["missing_ads"] == []


def test_demo_on_a_port_base_it_was_given_that_is_taken_names_the_port_in_chinese(tmp_path: Path) -> None:
    with held_port() as port:
        run = run_adwatch(["demo", "--port-base", str(port)], tmp_path)
    assert run.returncode != 0
    assert f"端口 {port} 已被其他程序占用" in run.stderr
