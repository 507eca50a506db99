"""The fleet's state as ``adwatch fleet status`` prints it: workers, queues per site, the item stream."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from crawler.fleet.queue import FleetQueue


@dataclass(frozen=True)
class WorkerState:
    worker: str
    host: str
    site: str  # the site it fetched a page of last ("" before its first page)
    pages: int
    per_minute: int
    in_flight: int


@dataclass(frozen=True)
class SiteState:
    site: str
    queued: int
    in_flight: int
    dead: int


@dataclass(frozen=True)
class FleetState:
    workers: list[WorkerState] = field(default_factory=list)
    sites: list[SiteState] = field(default_factory=list)
    items_waiting: int = 0  # on the stream: not yet read, or read and not yet stored

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing in flight, every item stored."""
        return not self.items_waiting and not any(s.queued or s.in_flight for s in self.sites)


def read_state(queue: FleetQueue) -> FleetState:
    workers = [_worker(queue, key) for key in queue.redis.scan_iter(match=queue.key("worker", "*"), count=500)]
    sites = []
    for site in queue.sites():
        keys = queue.site_keys(site)
        with queue.redis.pipeline(transaction=False) as pipe:
            pipe.llen(keys["q"])
            pipe.zcard(keys["lease"])
            pipe.llen(keys["dead"])
            sites.append(SiteState(site, *pipe.execute()))
    waiting = queue.redis.xlen(queue.key("items"))
    return FleetState(sorted((w for w in workers if w is not None), key=lambda w: w.worker), sites, waiting)


def _worker(queue: FleetQueue, key: bytes) -> WorkerState | None:
    fields = {k.decode(): v.decode() for k, v in queue.redis.hgetall(key).items()}
    if not fields:
        return None
    per_site: dict[str, dict[str, float]] = {}
    for name, value in fields.items():
        if name.startswith("site:"):
            _, site, measure = name.split(":", 2)
            per_site.setdefault(site, {})[measure] = float(value)
    recent = [(v.get("last", 0.0), s) for s, v in per_site.items() if v.get("last", 0.0) > 0]
    current = max(recent)[1] if recent and max(recent)[0] > time.time() - 60 else ""
    return WorkerState(
        worker=key.decode().rsplit(":", 1)[-1],
        host=fields.get("host", ""),
        site=current,
        pages=int(sum(v.get("pages", 0) for v in per_site.values())),
        per_minute=int(sum(v.get("per_minute", 0) for v in per_site.values())),
        in_flight=int(sum(v.get("in_flight", 0) for v in per_site.values())),
    )
