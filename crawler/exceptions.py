"""Every control-flow exception AdWatch raises, in one place."""

from __future__ import annotations


class AdWatchError(Exception):
    """Base class: an error a user can act on; its message says what and where."""


class ProfileError(AdWatchError):
    """A site profile is invalid; the message names the file, the entry and the field."""


class StoreError(AdWatchError):
    """The embedded store cannot be opened or written."""


class SandboxError(AdWatchError):
    """The local sandbox web could not start."""


class RenderError(AdWatchError):
    """Rendering JavaScript pages cannot start: Chromium missing or contradictory ADWATCH_RENDER_* settings."""


class EvidenceError(AdWatchError):
    """Evidence cannot be captured, exported or checked (storage, browser, signing key, timestamp authority)."""


class EngineUnavailable(AdWatchError):
    """The search engine (Elasticsearch/OpenSearch) cannot be reached or is overloaded; retry later."""


class EngineError(AdWatchError):
    """The search engine refused a request (bad settings, credentials, a mapping it cannot apply)."""


class PlanError(AdWatchError):
    """A crawl plan file is invalid; the message names the file, the entry and the field of each problem."""


class ScheduleError(AdWatchError):
    """The scheduler cannot start or reach its job store."""


class AlertConfigError(AdWatchError):
    """The alerts file (ADWATCH_ALERTS_FILE) is invalid; the message names the file, the entry and the field."""


class AlertSendError(AdWatchError):
    """An alert could not be delivered on one channel (SMTP refused, webhook down or answering an error)."""


class FleetError(AdWatchError):
    """The crawl fleet cannot start: Redis unreachable or contradictory ADWATCH_FLEET_* settings."""
