"""The fleet's shared state on Redis: request queues, leases, politeness, duplicate filter, item stream.

Every change that must not be half made is one Lua script, run atomically by Redis, with
Redis's own clock (machines' clocks may differ):

* ``lease`` hands out a site's next request only while the site has fewer requests being downloaded
  (fleet-wide) than its profile's concurrency and its download delay has passed since the last
  hand-out.  Like Scrapy's per-domain concurrency it counts downloads, not pages being parsed: a
  worker reports downloads ended with its next lease call, which frees their places while their
  leases are held until the pages are settled.  It first returns expired leases to the head of the
  queue (a worker died or hung), and moves a request whose lease expired ``max_attempts`` times to
  the site's dead list;
* ``complete`` settles a leased page in one step: its items go onto the item stream, the requests
  it found go through the site's Bloom filter onto the queue, and the lease is released.  A worker
  killed before it leaves no trace: the lease expires and the page is fetched again.  Each hand-out
  has its own token (``<id>/<token>``, the holder kept in ``holder:<site>``): a lease that expired and
  was handed to another worker is not settled twice (the late call answers ``STALE``);
* ``renew`` pushes the deadlines of a worker's leases forward; a live worker renews every heartbeat.

Keys, under ``ADWATCH_FLEET_PREFIX``: ``q:<site>`` (request ids, FIFO), ``req:<site>`` (id →
serialised request), ``lease:<site>`` (id → deadline, ms), ``tries:<site>``, ``dead:<site>``,
``next:<site>`` (the next hand-out allowed, ms), ``fetching:<site>`` (leased ids not yet downloaded),
``crawl:<site>`` (the number of the site's current crawl, counted up by each start), ``seen:<site>``
(Bloom filter bits), ``admitted:<site>`` (requests admitted since the crawl was started, for
``max_pages``), ``ids``, ``sites``, ``items`` (the stream), ``worker:<id>`` (a worker's heartbeat).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from crawler.fleet.config import FleetConfig

#: Stream fields: an item's JSON, and the raw WARC record of its page (a gzip member, or empty).
ITEM_FIELD = b"item"
RAW_FIELD = b"raw"
#: The ingest's consumer group on the item stream.
INGEST_GROUP = "ingest"
#: What ``complete`` answers when the lease was lost to another worker.
STALE = -1

_LEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 6, #ARGV do
  local id, token = string.match(ARGV[i], '^(.-)/(.*)$')
  if redis.call('HGET', KEYS[7], id) == token then redis.call('SREM', KEYS[10], id) end
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 100)
for i = #expired, 1, -1 do
  local id = expired[i]
  redis.call('ZREM', KEYS[3], id)
  redis.call('SREM', KEYS[10], id)
  if redis.call('HINCRBY', KEYS[4], id, 1) >= tonumber(ARGV[4]) then
    local payload = redis.call('HGET', KEYS[2], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[4], id)
    redis.call('HDEL', KEYS[7], id)
    if payload then redis.call('RPUSH', KEYS[5], payload) end
  else
    redis.call('LPUSH', KEYS[1], id)
  end
end
local handed = {}
local crawl = redis.call('GET', KEYS[9]) or '0'
local delay = tonumber(ARGV[2])
while #handed < 2 * tonumber(ARGV[5]) do
  if redis.call('SCARD', KEYS[10]) >= tonumber(ARGV[1]) then break end
  if now < tonumber(redis.call('GET', KEYS[6]) or '0') then break end
  local id = redis.call('LPOP', KEYS[1])
  if not id then break end
  local payload = redis.call('HGET', KEYS[2], id)
  if payload then
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), id)
    redis.call('SADD', KEYS[10], id)
    if delay > 0 then redis.call('SET', KEYS[6], now + delay, 'PX', delay + 1000) end
    local token = redis.call('INCR', KEYS[8])
    redis.call('HSET', KEYS[7], id, token)
    table.insert(handed, id .. '/' .. token)
    table.insert(handed, payload)
  end
end
return {crawl, handed}
"""

_COMPLETE = """
local lease = ARGV[1]
if lease ~= '' then
  local id, token = string.match(lease, '^(.-)/(.*)$')
  if redis.call('HGET', KEYS[9], id) ~= token then return -1 end
  if redis.call('ZREM', KEYS[3], id) == 0 then redis.call('LREM', KEYS[1], 1, id) end
  redis.call('SREM', KEYS[10], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[4], id)
  redis.call('HDEL', KEYS[9], id)
end
local n_items, n_requests, k = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local ttl, max_pages = tonumber(ARGV[5]), tonumber(ARGV[6])
local at = 7
for i = 1, n_items do
  redis.call('XADD', KEYS[7], '*', 'item', ARGV[at], 'raw', ARGV[at + 1])
  at = at + 2
end
local queued, seen, over = 0, 0, 0
for i = 1, n_requests do
  local force, payload = ARGV[at], ARGV[at + 1]
  local fresh = force == '1'
  for j = 1, k do
    if redis.call('SETBIT', KEYS[5], tonumber(ARGV[at + 1 + j]), 1) == 0 then fresh = true end
  end
  at = at + 2 + k
  if not fresh then
    seen = seen + 1
  elseif max_pages > 0 and redis.call('INCR', KEYS[6]) > max_pages then
    over = over + 1
  else
    local id = redis.call('INCR', KEYS[8])
    redis.call('HSET', KEYS[2], id, payload)
    redis.call('RPUSH', KEYS[1], id)
    queued = queued + 1
  end
end
if n_requests > 0 then
  redis.call('EXPIRE', KEYS[5], ttl)
  redis.call('EXPIRE', KEYS[6], ttl)
end
return {n_items, queued, seen, over}
"""

_RENEW = """
local t = redis.call('TIME')
local deadline = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do
  local id, token = string.match(ARGV[i], '^(.-)/(.*)$')
  if redis.call('HGET', KEYS[2], id) == token then
    renewed = renewed + redis.call('ZADD', KEYS[1], 'XX', 'CH', deadline, id)
  end
end
return renewed
"""


@dataclass(frozen=True)
class Politeness:
    """A site's politeness for the whole fleet: requests in flight at once, seconds between hand-outs."""

    concurrency: int
    delay: float
    max_pages: int = 0


class Lease(NamedTuple):
    """A request handed to a worker: its lease id, the serialised request, the site's crawl number."""

    lease_id: str
    payload: bytes
    crawl: int


@dataclass(frozen=True)
class Outgoing:
    """A request found on a page, serialised, with its fingerprint for the duplicate filter."""

    payload: bytes
    fingerprint: bytes
    force: bool = False


@dataclass(frozen=True)
class Settled:
    """What ``complete`` did: items sent, requests queued, requests seen before, requests over ``max_pages``."""

    items: int = 0
    queued: int = 0
    seen: int = 0
    over_limit: int = 0
    stale: bool = False


def connect(url: str, retries: int = 40, timeout: float | None = None) -> redis.Redis:
    """A Redis client that rides out a restart of the server: by default, commands are retried for about a minute.

    ``timeout`` bounds each connection attempt and reply, in seconds (none by default: a worker waits).
    """
    retry = Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=retries)
    return redis.Redis.from_url(
        url, retry=retry, retry_on_error=[redis.ConnectionError, redis.TimeoutError], health_check_interval=10,
        socket_timeout=timeout, socket_connect_timeout=timeout,
    )


def start_marker() -> bytes:
    """The queue entry that makes a worker issue the site's start requests."""
    return pickle.dumps({"adwatch_fleet_start": True}, protocol=4)


def is_start_marker(data: dict[str, Any]) -> bool:
    return bool(data.get("adwatch_fleet_start"))


class FleetQueue:
    """The fleet's queues, leases, duplicate filters and item stream on one Redis."""

    def __init__(self, config: FleetConfig, client: redis.Redis | None = None) -> None:
        self.config = config
        self.redis = client if client is not None else connect(config.url)
        self._lease = self.redis.register_script(_LEASE)
        self._complete = self.redis.register_script(_COMPLETE)
        self._renew = self.redis.register_script(_RENEW)

    def key(self, *parts: str) -> str:
        return ":".join((self.config.prefix, *parts))

    def site_keys(self, site: str) -> dict[str, str]:
        names = ("q", "req", "lease", "tries", "dead", "next", "seen", "admitted", "holder", "crawl", "fetching")
        return {name: self.key(name, site) for name in names}

    def start_crawl(self, site: str) -> None:
        """Start a crawl of ``site``: a fresh duplicate filter and page count, and its start marker queued."""
        keys = self.site_keys(site)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys["seen"], keys["admitted"])
            pipe.incr(keys["crawl"])
            pipe.sadd(self.key("sites"), site)
            pipe.execute()
        self.settle(site, "", [], [Outgoing(start_marker(), b"", force=True)], Politeness(1, 0))

    def lease(self, site: str, politeness: Politeness) -> Lease | None:
        """The site's next request and its lease, or ``None`` when none may be fetched now."""
        leases = self.lease_many(site, politeness, 1)
        return leases[0] if leases else None

    def lease_many(self, site: str, politeness: Politeness, count: int, downloaded: Sequence[str] = ()) -> list[Lease]:
        """Up to ``count`` of the site's next requests, as many as its politeness allows now, in one round trip.

        ``downloaded``: leases whose download has ended since the last call; their places are freed first
        (the leases themselves are held until their pages are settled).
        """
        keys = self.site_keys(site)
        lease_ms = int(self.config.lease_seconds * 1000)
        crawl, handed = self._lease(
            keys=[*(keys[n] for n in ("q", "req", "lease", "tries", "dead", "next", "holder")), self.key("ids"),
                  keys["crawl"], keys["fetching"]],
            args=[politeness.concurrency, int(politeness.delay * 1000), lease_ms, self.config.max_attempts, count,
                  *downloaded],
        )
        return [Lease(handed[i].decode(), handed[i + 1], int(crawl)) for i in range(0, len(handed), 2)]

    def settle(
        self,
        site: str,
        lease_id: str,
        items: Sequence[tuple[bytes, bytes]],
        requests: Iterable[Outgoing],
        politeness: Politeness,
    ) -> Settled:
        """Send a page's items (JSON and raw WARC record) and requests and release its lease, all or nothing."""
        keys = self.site_keys(site)
        args: list[Any] = []
        count = 0
        for request in requests:
            args += ["1" if request.force else "0", request.payload, *self.bloom_positions(request.fingerprint)]
            count += 1
        head = [lease_id, len(items), count, self.config.seen_hashes, int(self.config.seen_ttl),
                politeness.max_pages]
        result = self._complete(
            keys=[*(keys[n] for n in ("q", "req", "lease", "tries", "seen", "admitted")), self.key("items"),
                  self.key("ids"), keys["holder"], keys["fetching"]],
            args=[*head, *(part for item in items for part in item), *args],
        )
        if result == STALE:
            return Settled(stale=True)
        return Settled(*result)

    def renew(self, site: str, lease_ids: Iterable[str]) -> int:
        ids = list(lease_ids)
        if not ids:
            return 0
        keys = [self.key("lease", site), self.key("holder", site)]
        return self._renew(keys=keys, args=[int(self.config.lease_seconds * 1000), *ids])

    def bloom_positions(self, fingerprint: bytes) -> list[int]:
        """The filter's bit positions for a fingerprint (double hashing over its first 16 bytes)."""
        if not fingerprint:
            return [0] * self.config.seen_hashes
        h1 = int.from_bytes(fingerprint[:8], "big")
        h2 = int.from_bytes(fingerprint[8:16], "big") | 1
        bits = self.config.seen_bits
        return [(h1 + i * h2) % bits for i in range(self.config.seen_hashes)]

    def mark_seen(self, site: str, fingerprint: bytes) -> bool:
        """Add a fingerprint to the site's filter; whether it was there already."""
        with self.redis.pipeline(transaction=True) as pipe:
            for position in self.bloom_positions(fingerprint):
                pipe.setbit(self.key("seen", site), position, 1)
            return all(pipe.execute())

    def seen(self, site: str, fingerprints: Iterable[bytes]) -> list[bool]:
        """Whether the site's filter takes each fingerprint as seen (read only)."""
        key = self.key("seen", site)
        with self.redis.pipeline(transaction=False) as pipe:
            for fingerprint in fingerprints:
                for position in self.bloom_positions(fingerprint):
                    pipe.getbit(key, position)
            bits = pipe.execute()
        k = self.config.seen_hashes
        return [all(bits[i:i + k]) for i in range(0, len(bits), k)]

    def sites(self) -> list[str]:
        return sorted(s.decode() for s in self.redis.smembers(self.key("sites")))

    def ensure_group(self) -> None:
        """The ingest's consumer group on the item stream, created with the stream if missing."""
        try:
            self.redis.xgroup_create(self.key("items"), INGEST_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
