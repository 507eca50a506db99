"""Shared fixtures: one engine per test session (building it loads jieba)."""

from __future__ import annotations

import pytest

from rules.engine import RuleEngine


@pytest.fixture(scope="session")
def engine() -> RuleEngine:
    return RuleEngine.from_directory()
