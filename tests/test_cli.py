"""The adwatch command line, run for real: the demo, and crawls of sites that are down, hang or send garbage."""

from __future__ import annotations

import random
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sandbox.server import SandboxWeb
from tests.conftest import REPO, CrawlRun, QuietHandler, local_server, run_adwatch


def test_demo_json_summarises_the_whole_sandbox(tmp_path: Path) -> None:
    run = run_adwatch(["demo", "--json", "--port-base", "0"], tmp_path)
    assert run.returncode == 0, run.stderr
    summary = run.json()
    assert {"pages", "ads", "sites", "hits", "hits_by_article", "precision", "recall"} <= set(summary)
    assert summary["ads"] >= 300
    assert len(summary["sites"]) >= 5
    assert summary["pages"] > summary["ads"]
    assert sum(summary["hits_by_article"].values()) == summary["hits"]
    assert summary["missing_ads"] == []
    assert 0.5 < summary["precision"] <= 1.0 and 0.5 < summary["recall"] <= 1.0
    assert Path(summary["db_path"]) == (tmp_path / "adwatch.db").resolve()


class GarbageHandler(QuietHandler):
    """Answers every request with 200 and random bytes labelled as HTML."""

    def do_GET(self) -> None:  # noqa: N802
        self.answer(200, random.Random(self.path).randbytes(5000))


@pytest.fixture
def garbage_server() -> Iterator[str]:
    with local_server(GarbageHandler) as url:
        yield url


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    listener.close()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/"


def copy_of(run: CrawlRun, tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(run.data_dir, data_dir)
    return data_dir


def ad_count(data_dir: Path, site: str) -> int:
    with sqlite3.connect(data_dir / "adwatch.db") as conn:
        return conn.execute("SELECT count(*) FROM ads WHERE site = ?", (site,)).fetchone()[0]


def last_run(data_dir: Path, site: str) -> tuple[int, int, int]:
    with sqlite3.connect(data_dir / "adwatch.db") as conn:
        return conn.execute(
            "SELECT pages, items, errors FROM crawl_runs WHERE site = ? ORDER BY id DESC LIMIT 1", (site,)
        ).fetchone()


def test_a_site_that_is_down_or_sends_garbage_is_counted_and_the_crawl_goes_on(
    web: SandboxWeb, crawled: CrawlRun, tmp_path: Path, garbage_server: str
) -> None:
    data_dir = copy_of(crawled, tmp_path)
    stored_before = {site: ad_count(data_dir, site) for site in ("mall", "pharmacy", "news")}
    run = run_adwatch(
        [
            "crawl",
            "mall",
            "pharmacy",
            "news",
            "--base-url",
            f"mall={closed_port_url()}",
            "--base-url",
            f"pharmacy={garbage_server}",
            "--base-url",
            f"news={web.base_urls['news']}",
        ],
        data_dir,
    )
    assert run.returncode == 0, run.stderr
    pages, items, errors = last_run(data_dir, "mall")
    assert (pages, items) == (0, 0) and errors >= 1
    pages, items, errors = last_run(data_dir, "pharmacy")
    assert pages >= 1 and items == 0
    assert last_run(data_dir, "news")[1] == stored_before["news"]
    assert {site: ad_count(data_dir, site) for site in stored_before} == stored_before


def test_a_site_that_never_answers_times_out_and_is_counted(tmp_path: Path, silent_server: str) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "silent.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "silent",
                "base_url": silent_server,
                "start_urls": ["/a", "/b"],
                "items": [{"name": "page", "url_pattern": ".", "fields": {"title": {"css": "title::text"}}}],
                "politeness": {"timeout": 1.0, "obey_robots": False},
                "private_network": True,
            }
        ),
        encoding="utf-8",
    )
    run = run_adwatch(["crawl", "silent"], tmp_path / "data", {"ADWATCH_PROFILE_DIRS": f'["{profiles}"]'})
    assert run.returncode == 0, run.stderr
    assert last_run(tmp_path / "data", "silent") == (0, 0, 2)


def test_an_invalid_profile_stops_the_cli_with_file_entry_and_field(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "shop.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "shop",
                "base_url": "http://127.0.0.1:9/",
                "start_urls": ["/"],
                "items": [{"name": "product", "url_pattern": "/item/(", "fields": {"title": {"css": "h1::text"}}}],
            }
        ),
        encoding="utf-8",
    )
    run = run_adwatch(["crawl", "shop"], tmp_path / "data", {"ADWATCH_PROFILE_DIRS": f'["{profiles}"]'})
    assert run.returncode == 2
    assert "shop.yaml" in run.stderr and "items[0] (product)" in run.stderr and "url_pattern" in run.stderr
    assert "Traceback" not in run.stderr


def test_an_unknown_site_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    run = run_adwatch(["crawl", "nosuchsite"], tmp_path)
    assert run.returncode != 0
    assert "nosuchsite" in run.stderr and "mall" in run.stderr


def test_rules_commands_load_only_the_rule_engine() -> None:
    """``adwatch rules …`` imports the rule engine alone: no Scrapy, FastAPI or search client to wait for."""
    code = (
        "import sys, adwatch; from click.testing import CliRunner; "
        "result = CliRunner().invoke(adwatch.cli, ['rules', 'check', '--text', '全网最低价']); "
        "heavy = [m for m in ('scrapy', 'fastapi', 'opensearchpy', 'elasticsearch', 'playwright')"
        " if m in sys.modules]; "
        "print(result.exit_code, 'ad9-superlative' in result.output, heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "0 True []", proc.stderr


def test_help_lists_every_package_command_group(tmp_path: Path) -> None:
    run = run_adwatch(["--help"], tmp_path)
    assert run.returncode == 0, run.stderr
    for name in ("rules", "index", "evidence", "schedule", "serve", "users", "crawl", "demo", "sandbox"):
        assert f"\n  {name} " in run.stdout
