"""AdWatch rule engine: checks Chinese ad copy against the 广告法 and related rules."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
