"""The fleet's settings (``ADWATCH_FLEET_*``), read once into a typed object."""

from __future__ import annotations

import math
import socket
from dataclasses import dataclass

from scrapy.settings import BaseSettings

from crawler.exceptions import FleetError


@dataclass(frozen=True)
class FleetConfig:
    url: str
    prefix: str
    lease_seconds: float
    heartbeat: float
    poll_interval: float
    max_attempts: int
    seen_capacity: int
    seen_error_rate: float
    seen_ttl: float
    ingest_batch: int
    consumer: str

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> FleetConfig:
        config = cls(
            url=settings.get("ADWATCH_FLEET_URL") or "",
            prefix=settings.get("ADWATCH_FLEET_PREFIX"),
            lease_seconds=settings.getfloat("ADWATCH_FLEET_LEASE_SECONDS"),
            heartbeat=settings.getfloat("ADWATCH_FLEET_HEARTBEAT"),
            poll_interval=settings.getfloat("ADWATCH_FLEET_POLL_INTERVAL"),
            max_attempts=settings.getint("ADWATCH_FLEET_MAX_ATTEMPTS"),
            seen_capacity=settings.getint("ADWATCH_FLEET_SEEN_CAPACITY"),
            seen_error_rate=settings.getfloat("ADWATCH_FLEET_SEEN_ERROR_RATE"),
            seen_ttl=settings.getfloat("ADWATCH_FLEET_SEEN_TTL"),
            ingest_batch=settings.getint("ADWATCH_FLEET_INGEST_BATCH"),
            consumer=settings.get("ADWATCH_FLEET_CONSUMER") or socket.gethostname(),
        )
        config.check()
        return config

    def check(self) -> None:
        """Reject settings that contradict each other, at start-up."""
        if not self.url.startswith(("redis://", "rediss://", "unix://")):
            raise FleetError(f"ADWATCH_FLEET_URL 应为 redis://… / must be a redis:// URL, got {self.url!r}")
        if self.heartbeat * 2 > self.lease_seconds:
            raise FleetError(
                f"ADWATCH_FLEET_HEARTBEAT ({self.heartbeat}) must be at most half of "
                f"ADWATCH_FLEET_LEASE_SECONDS ({self.lease_seconds}): leases are renewed every heartbeat"
            )
        if not 0 < self.seen_error_rate < 1:
            raise FleetError(f"ADWATCH_FLEET_SEEN_ERROR_RATE must be between 0 and 1, got {self.seen_error_rate}")
        if self.max_attempts < 1 or self.seen_capacity < 1 or self.ingest_batch < 1:
            raise FleetError("ADWATCH_FLEET_MAX_ATTEMPTS, _SEEN_CAPACITY and _INGEST_BATCH must be at least 1")

    @property
    def seen_bits(self) -> int:
        """Bits of a site's Bloom filter for ``seen_capacity`` URLs at ``seen_error_rate``."""
        return math.ceil(-self.seen_capacity * math.log(self.seen_error_rate) / math.log(2) ** 2)

    @property
    def seen_hashes(self) -> int:
        return max(1, round(self.seen_bits / self.seen_capacity * math.log(2)))
