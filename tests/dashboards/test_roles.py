"""Every route, for every role: who may see and do what.  Plus CSRF on every form and evidence that cannot escape.

The tables below are the specification: a route added to the console without
a line here fails ``test_every_route_is_in_the_role_table``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

from dashboards.app import ROUTERS
from tests.conftest import CrawlRun
from tests.dashboards.conftest import ACCOUNTS, Console, copy_crawl, csrf_of, serve_console
from tests.support.engines import free_port

ROLES = ("anonymous", *ACCOUNTS)
REVIEW = {"reviewer1", "chief1"}
CASES = {"chief1", "inspector1"}
EVERYONE = set(ACCOUNTS)
OPERATIONS = {"chief1", "admin1"}  # 运行监控 and 抓取计划

#: (path template, who gets it) for every GET route; everyone else gets 403 (anonymous: the login page).
GET_ROUTES = [
    ("/", EVERYONE),
    ("/queue", REVIEW),
    ("/hits/{hit_id}", REVIEW),
    ("/hits/{hit_id}/screenshot.png", REVIEW),
    ("/search", REVIEW),
    ("/stats", REVIEW),
    ("/returns", REVIEW),
    ("/export/queue.csv", REVIEW),
    ("/cases", CASES),
    ("/cases/{case_no}", CASES),
    ("/cases/{case_no}/screenshot.png", CASES),
    ("/cases/{case_no}/evidence.zip", CASES),
    ("/reports", {"chief1"}),
    ("/reports/monthly.xlsx", {"chief1"}),
    ("/rules/quality", {"chief1"}),
    ("/users", {"admin1"}),
    ("/audit", {"chief1", "admin1"}),
    ("/static/{name}", EVERYONE),
    ("/monitor", OPERATIONS),
    ("/monitor/live", OPERATIONS),
    ("/monitor/runs/{run_id}", OPERATIONS),
    ("/monitor/runs/{run_id}/log", OPERATIONS),
    ("/plans", OPERATIONS),
]

#: (path template, form, who may) for every POST route.  The forms are refused on their merits (409) once the
#: role is allowed, so the table can run in any order without changing anything.
POST_ROUTES = [
    ("/queue/bulk", {"action": "dismiss"}, REVIEW),
    ("/hits/{hit_id}/decision", {"action": "no-such-action"}, REVIEW),
    ("/hits/{hit_id}/transfer", {"case_no": "", "inspector": ""}, REVIEW),
    ("/cases/{case_no}/approve", {}, {"chief1"}),
    ("/cases/{case_no}/reject", {}, {"chief1"}),
    ("/cases/{case_no}/dispositions", {"kind": "no-such-kind"}, CASES),
    ("/users", {"username": "x", "password": "short", "role": "reviewer"}, {"admin1"}),
    ("/users/{username}/disable", {}, {"admin1"}),
    ("/users/{username}/enable", {}, {"admin1"}),
    ("/users/{username}/password", {"password": "short"}, {"admin1"}),
    ("/monitor/crawls", {"site": "no-such-site"}, OPERATIONS),
    ("/monitor/runs/{run_id}/stop", {}, OPERATIONS),  # the session crawl's runs have all finished
    ("/plans", {"id": "坏计划", "sites": "mall", "cron": "0 2 * * 1"}, OPERATIONS),  # a numeric weekday
    ("/plans/sites/{site}/pause", {}, OPERATIONS),  # no scheduler has run: the site has no job yet
    ("/plans/sites/{site}/resume", {}, OPERATIONS),
    ("/plans/sites/{site}/trigger", {}, OPERATIONS),  # not a site
]
UNTESTED = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}  # tested in test_console_e2e / below


def _collect_hit(console: Console) -> str:
    """A hit on the collect site, whose flagged pages have evidence packages in the session crawl."""
    with sqlite3.connect(console.db_path) as conn:
        row = conn.execute("""SELECT h.id FROM hits h JOIN ads a ON a.current_version = h.version_id
                              WHERE h.site = 'collect' ORDER BY h.id LIMIT 1""").fetchone()
    assert row, "the session crawl flagged collect ads"
    return row[0]


@pytest.fixture
def world(sqlite_console: Console) -> dict[str, str]:
    """One approved case (its hit has evidence) and a second pending hit, made through the console itself."""
    hit_id = _collect_hit(sqlite_console)
    with sqlite_console.client("chief1") as chief:
        response = chief.post(f"/hits/{hit_id}/transfer", data={"case_no": "稽-2026-0001", "inspector": "inspector1",
                                                                "csrf_token": csrf_of(chief)})
        assert response.status_code == 303
    with sqlite3.connect(sqlite_console.db_path) as conn:
        other = conn.execute("SELECT id FROM hits WHERE id != ? AND review_status = 'pending' LIMIT 1",
                             (hit_id,)).fetchone()[0]
        run_id = conn.execute("SELECT min(id) FROM crawl_monitor").fetchone()[0]
    return {"hit_id": hit_id, "other": other, "case_no": "稽-2026-0001", "name": "console.js",
            "username": "nobody", "run_id": run_id, "site": "no-such-site"}


def _client(console: Console, role: str) -> httpx.Client:
    return console.client(None if role == "anonymous" else role)


def test_every_route_is_in_the_role_table() -> None:
    routes = {(method, route.path) for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)
              for method in route.methods if method != "HEAD"}
    tabled = {("GET", path) for path, _ in GET_ROUTES} | {("POST", path) for path, _, _ in POST_ROUTES} | UNTESTED
    assert routes == tabled


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_its_pages(sqlite_console: Console, world: dict[str, str], role: str) -> None:
    refused, allowed = [], []
    with _client(sqlite_console, role) as client:
        for template, who in GET_ROUTES:
            path = template.format(**world)
            response = client.get(path)
            if role == "anonymous":
                assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), path
            elif role in who:
                assert response.status_code in (200, 303), (path, response.status_code, response.text[:300])
                allowed.append(path)
            else:
                assert response.status_code == 403, (path, response.status_code)
                assert "无权" in response.text
                refused.append(path)
    if role != "anonymous":
        assert allowed and (refused or role == "chief1")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_post_exactly_its_forms(sqlite_console: Console, world: dict[str, str], role: str) -> None:
    with _client(sqlite_console, role) as client:
        token = csrf_of(client) if role != "anonymous" else ""
        for template, form, who in POST_ROUTES:
            path = template.format(**{**world, "hit_id": world["other"]})
            response = client.post(path, data={**form, "csrf_token": token})
            if role == "anonymous":
                assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
            elif role in who:
                assert response.status_code == 409, (path, response.status_code, response.text[:300])
            else:
                assert response.status_code == 403, (path, response.status_code)


@pytest.mark.parametrize("role", sorted(ACCOUNTS))
def test_every_form_needs_the_sessions_csrf_token(sqlite_console: Console, world: dict[str, str], role: str) -> None:
    with sqlite_console.client(role) as client:
        for template, form, who in POST_ROUTES:
            if role not in who:
                continue
            path = template.format(**{**world, "hit_id": world["other"]})
            for token in ("", "forged-token"):
                response = client.post(path, data={**form, "csrf_token": token})
                assert response.status_code == 403 and "表单已失效" in response.text, path
        assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403


def test_inspectors_see_approved_cases_only(sqlite_console: Console, world: dict[str, str]) -> None:
    with sqlite_console.client("reviewer1") as reviewer:
        form = {"case_no": "稽-2026-0002", "inspector": "inspector1", "csrf_token": csrf_of(reviewer)}
        response = reviewer.post(f"/hits/{world['other']}/transfer", data=form)
        assert response.status_code == 303
    with sqlite_console.client("inspector1") as inspector:
        listing = inspector.get("/cases").text
        assert "稽-2026-0001" in listing and "稽-2026-0002" not in listing
        assert inspector.get("/cases/稽-2026-0002").status_code == 404
        assert inspector.get("/cases/稽-2026-0002/evidence.zip").status_code == 404
    with sqlite_console.client("chief1") as chief:
        assert "稽-2026-0002" in chief.get("/cases").text


def test_an_inspector_sees_only_the_cases_assigned_to_them(sqlite_console: Console,
                                                           world: dict[str, str]) -> None:
    with sqlite_console.client("admin1") as admin:
        form = {"username": "inspector2", "password": "Passw0rd-2026", "role": "inspector", "display_name": "刘稽查",
                "csrf_token": csrf_of(admin)}
        assert admin.post("/users", data=form).status_code == 303
    with sqlite_console.client("chief1") as chief:
        form = {"case_no": "稽-2026-0003", "inspector": "inspector2", "csrf_token": csrf_of(chief)}
        assert chief.post(f"/hits/{world['other']}/transfer", data=form).status_code == 303  # approved at once
        refused = chief.post(f"/hits/{world['other']}/transfer",
                             data={**form, "case_no": "稽-2026-0004", "inspector": "王稽查"})  # a name, no account
        assert refused.status_code == 409 and "稽查人员账号" in refused.text
    with sqlite_console.client("inspector1") as inspector:
        assert "稽-2026-0003" not in inspector.get("/cases").text
        for path in ("/cases/稽-2026-0003", "/cases/稽-2026-0003/evidence.zip", "/cases/稽-2026-0003/screenshot.png"):
            assert inspector.get(path).status_code == 403, path
        assert inspector.get(f"/cases/{world['case_no']}").status_code == 200


def test_logging_out_ends_the_session(sqlite_console: Console) -> None:
    with sqlite_console.client("reviewer1") as client:
        assert client.get("/queue").status_code == 200
        assert client.post("/logout", data={"csrf_token": csrf_of(client)}).status_code == 303
        response = client.get("/queue")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_disabled_accounts_lose_their_session_at_once(sqlite_console: Console) -> None:
    with sqlite_console.client("reviewer1") as reviewer, sqlite_console.client("admin1") as admin:
        assert reviewer.get("/queue").status_code == 200
        assert admin.post("/users/reviewer1/disable", data={"csrf_token": csrf_of(admin)}).status_code == 303
        assert reviewer.get("/queue").status_code == 303


def test_login_is_throttled_after_repeated_failures(sqlite_console: Console) -> None:
    from tests.dashboards.conftest import PASSWORD, login

    limit = sqlite_console.config.login_max_failures
    with sqlite_console.client() as client:
        for _ in range(limit):
            assert login(client, "reviewer1", "wrong-password").status_code == 401
        refused = login(client, "reviewer1", PASSWORD)
        assert refused.status_code == 429 and "稍后再试" in refused.text
        assert client.get("/queue").status_code == 303


def test_login_redirects_only_within_the_console(sqlite_console: Console) -> None:
    with sqlite_console.client() as client:
        form = client.get("/login?next=//evil.example/x")
        token = form.text.split('name="login_csrf" value="', 1)[1].split('"', 1)[0]
        response = client.post("/login", data={"username": "reviewer1", "password": "Passw0rd-2026",
                                                "login_csrf": token, "next": "//evil.example/x"})
        assert response.status_code == 303 and response.headers["location"] == "/queue"


@pytest.mark.parametrize("package", ["../adwatch.db", "../../../../../../etc/passwd", "/etc/passwd"])
def test_evidence_downloads_cannot_leave_the_evidence_folder(sqlite_console: Console, world: dict[str, str],
                                                             package: str) -> None:
    with sqlite_console.client("chief1") as chief:
        genuine = chief.get(f"/hits/{world['hit_id']}/screenshot.png")
        assert genuine.status_code == 200 and genuine.content.startswith(b"\x89PNG")
        with sqlite3.connect(sqlite_console.db_path) as conn:
            # Every hit of the ad: the ad's page shows the first package among its hits.
            conn.execute("""UPDATE evidence SET package = ? WHERE hit_id IN (SELECT id FROM hits WHERE version_id =
                            (SELECT version_id FROM hits WHERE id = ?))""", (package, world["hit_id"]))
        assert chief.get(f"/hits/{world['hit_id']}/screenshot.png").status_code == 404
        assert chief.get(f"/cases/{world['case_no']}/screenshot.png").status_code == 404


def test_responses_carry_a_strict_content_security_policy(sqlite_console: Console) -> None:
    with sqlite_console.client() as client:
        policy = client.get("/login").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in \
        policy.split("script-src", 1)[1].split(";", 1)[0]


def test_a_search_engine_that_is_down_is_named_and_nothing_is_half_recorded(crawled: CrawlRun,
                                                                           tmp_path: Path) -> None:
    data_dir = copy_crawl(crawled, tmp_path / "data")
    dead = f"opensearch+http://127.0.0.1:{free_port()}"
    with serve_console(data_dir, "opensearch", ADWATCH_INDEX=dead, ADWATCH_INDEX_TIMEOUT=2) as down:
        with down.client("reviewer1") as client:
            page = client.get("/queue")
            assert page.status_code == 503 and "搜索引擎暂不可用" in page.text
            hit_id = sqlite3.connect(down.db_path).execute("SELECT id FROM hits LIMIT 1").fetchone()[0]
            response = client.post(f"/hits/{hit_id}/decision", data={"action": "confirm",
                                                                     "csrf_token": csrf_of(client)})
            assert response.status_code == 503
    with sqlite3.connect(down.config.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM decisions").fetchone()[0] == 0
    with sqlite3.connect(down.db_path) as conn:
        assert conn.execute("SELECT review_status FROM hits WHERE id = ?", (hit_id,)).fetchone()[0] == "pending"
