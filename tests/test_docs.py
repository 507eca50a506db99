"""The docs stay honest: every setting is documented, and the README's test command is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import crawler.settings

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_adwatch_setting_is_documented_in_the_readme() -> None:
    settings = sorted(name for name in vars(crawler.settings) if name.startswith("ADWATCH_"))
    assert settings
    undocumented = [name for name in settings if f"| `{name}` |" not in README]
    assert undocumented == []


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"^make (\w+)", README, flags=re.M)
    assert commands[:2] == ["demo", "test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()
