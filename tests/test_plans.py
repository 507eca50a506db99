"""Plan files edited from the console or ``adwatch schedule add`` keep what a person wrote in them."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from crawler.plans import PlanEdit, load_plans, save_plan

TZ = ZoneInfo("Asia/Shanghai")
SITES = {"hospital": "hospital", "news": "news", "mall": "mall"}

COMMENTED = """# 广告监管处 2026 年专项行动抓取计划（张三维护，改动前请先在群里说一声）
windows:
  双十一: {start: "11-01", end: "11-12"}  # 预热期起算
plans:
  # 每天早上抓一次医院和资讯站
  - id: 每日
    sites: [hospital, news]
    cron: "0 9 * * *"  # 上班前抓完
  - id: 双十一医院
    sites: [hospital]
    windows: [双十一]
    interval: 2h
    priority: 10  # 高于每日计划
"""


def _write(folder: Path) -> Path:
    folder.mkdir()
    path = folder / "plans.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    return path


def test_rewriting_a_plan_keeps_the_files_comments_and_the_other_plans(tmp_path: Path) -> None:
    path = _write(tmp_path / "plans")
    entry = {"id": "双十一医院", "sites": ["hospital"], "windows": ["双十一"], "interval": "1h", "priority": 10}
    save_plan([path.parent], PlanEdit(entry, replaces="双十一医院"), SITES, TZ)
    text = path.read_text(encoding="utf-8")
    comments = ("# 广告监管处 2026 年专项行动抓取计划", "# 预热期起算", "# 每天早上抓一次医院和资讯站", "# 上班前抓完")
    assert all(comment in text for comment in comments)
    assert "# 高于每日计划" in text
    assert text.replace("interval: 1h", "interval: 2h") == COMMENTED  # only the changed value changed
    assert yaml.safe_load(text)["plans"][1] == entry
    plans = load_plans([path.parent], SITES, TZ)
    assert [plan.id for plan in plans.plans] == ["每日", "双十一医院"]


def test_a_new_plan_and_window_are_added_below_what_is_there(tmp_path: Path) -> None:
    path = _write(tmp_path / "plans")
    entry = {"id": "年货节", "sites": ["mall"], "windows": ["年货"], "interval": "3h", "priority": 5}
    edit = PlanEdit(entry, new_file="plans.yaml", windows={"年货": {"start": "01-10", "end": "02-10"}})
    save_plan([path.parent], edit, SITES, TZ)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# 广告监管处 2026 年专项行动抓取计划") and "# 高于每日计划" in text
    data = yaml.safe_load(text)
    assert [plan["id"] for plan in data["plans"]] == ["每日", "双十一医院", "年货节"]
    assert data["windows"]["年货"] == {"start": "01-10", "end": "02-10"}
