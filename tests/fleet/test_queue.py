"""The fleet's queue on a real redis-server: leases, fleet-wide politeness, the duplicate filter, settling."""

from __future__ import annotations

import hashlib
import pickle
import time
from collections.abc import Iterator

import pytest

from crawler.config import project_settings
from crawler.fleet.config import FleetConfig
from crawler.fleet.queue import FleetQueue, Lease, Outgoing, Politeness, is_start_marker
from tests.support.redis_server import RedisServer

SITE = "mall"
FREE = Politeness(concurrency=100, delay=0)


def queue_on(server: RedisServer, **settings: object) -> FleetQueue:
    return FleetQueue(FleetConfig.from_settings(project_settings({"ADWATCH_FLEET_URL": server.url, **settings})))


@pytest.fixture
def queue(redis_server: RedisServer) -> Iterator[FleetQueue]:
    yield queue_on(redis_server)


def page(url: str, force: bool = False) -> Outgoing:
    return Outgoing(url.encode(), hashlib.sha1(url.encode()).digest(), force=force)


def drain(queue: FleetQueue, politeness: Politeness = FREE) -> list[Lease]:
    taken = []
    while (leased := queue.lease(SITE, politeness)) is not None:
        taken.append(leased)
    return taken


def test_a_started_crawl_hands_out_its_start_marker_once(queue: FleetQueue) -> None:
    queue.start_crawl(SITE)
    taken = drain(queue)
    assert len(taken) == 1
    assert is_start_marker(pickle.loads(taken[0][1]))
    assert queue.sites() == [SITE]


def test_a_url_found_twice_is_queued_once(queue: FleetQueue) -> None:
    settled = queue.settle(SITE, "", [], [page("http://a/1"), page("http://a/2"), page("http://a/1")], FREE)
    assert (settled.queued, settled.seen) == (2, 1)
    again = queue.settle(SITE, "", [], [page("http://a/2"), page("http://a/2", force=True)], FREE)
    assert (again.queued, again.seen) == (1, 1)  # dont_filter requests pass the filter
    forced_first = queue.settle(SITE, "", [], [page("http://a/3", force=True), page("http://a/3")], FREE)
    assert (forced_first.queued, forced_first.seen) == (1, 1)  # and are marked seen: a start page is fetched once
    assert [lease.payload for lease in drain(queue)] == [b"http://a/1", b"http://a/2", b"http://a/2", b"http://a/3"]


def test_starting_a_crawl_again_forgets_the_urls_seen(queue: FleetQueue) -> None:
    queue.start_crawl(SITE)
    queue.settle(SITE, "", [], [page("http://a/1")], FREE)
    queue.start_crawl(SITE)
    assert queue.settle(SITE, "", [], [page("http://a/1")], FREE).queued == 1
    assert {lease.crawl for lease in drain(queue)} == {2}  # workers see the new crawl and forget their links


def test_concurrency_holds_for_every_worker_together(redis_server: RedisServer, queue: FleetQueue) -> None:
    queue.settle(SITE, "", [], [page(f"http://a/{n}") for n in range(5)], FREE)
    other_worker = queue_on(redis_server)
    two = Politeness(concurrency=2, delay=0)
    assert queue.lease(SITE, two) is not None
    first_of_other = other_worker.lease(SITE, two)
    assert first_of_other is not None
    assert queue.lease(SITE, two) is None and other_worker.lease(SITE, two) is None
    queue.settle(SITE, first_of_other[0], [], [], two)  # a page done anywhere frees a place for anyone
    assert queue.lease(SITE, two) is not None


def test_a_download_ended_frees_its_place_while_its_lease_is_held(redis_server: RedisServer,
                                                                  queue: FleetQueue) -> None:
    queue.settle(SITE, "", [], [page(f"http://a/{n}") for n in range(4)], FREE)
    two = Politeness(concurrency=2, delay=0)
    first, second = queue.lease_many(SITE, two, 2)
    assert queue.lease(SITE, two) is None
    [third] = queue_on(redis_server).lease_many(SITE, two, 5, downloaded=[first.lease_id])  # parsed, not settled
    assert third.payload == b"http://a/2" and queue.lease(SITE, two) is None
    assert queue.renew(SITE, [first.lease_id]) == 1  # still leased: a worker dying now gives the page back
    assert queue.lease_many(SITE, two, 5, downloaded=[first.lease_id]) == []  # reported twice: freed once
    assert queue.settle(SITE, first.lease_id, [(b"{}", b"")], [], two).items == 1
    assert queue.settle(SITE, second.lease_id, [], [], two).items == 0
    assert [lease.payload for lease in queue.lease_many(SITE, two, 5)] == [b"http://a/3"]


def test_one_round_trip_leases_as_many_as_the_site_allows(queue: FleetQueue) -> None:
    queue.settle(SITE, "", [], [page(f"http://a/{n}") for n in range(5)], FREE)
    assert [lease.payload for lease in queue.lease_many(SITE, Politeness(concurrency=2, delay=0), 5)] == [
        b"http://a/0", b"http://a/1"]
    assert len(queue.lease_many(SITE, Politeness(concurrency=8, delay=600), 5)) == 1  # a delay: one at a time


def test_the_download_delay_holds_for_every_worker_together(redis_server: RedisServer, queue: FleetQueue) -> None:
    queue.settle(SITE, "", [], [page("http://a/1"), page("http://a/2")], FREE)
    slow = Politeness(concurrency=8, delay=600)
    assert queue.lease(SITE, slow) is not None
    assert queue_on(redis_server).lease(SITE, slow) is None


def test_a_lease_not_renewed_returns_its_request_to_the_head_of_the_queue(redis_server: RedisServer) -> None:
    queue = queue_on(redis_server, ADWATCH_FLEET_LEASE_SECONDS=0.4, ADWATCH_FLEET_HEARTBEAT=0.1)
    queue.settle(SITE, "", [], [page("http://a/1"), page("http://a/2")], FREE)
    lease_id, payload, _ = queue.lease(SITE, FREE)
    time.sleep(0.5)
    second_id, second_payload, _ = queue.lease(SITE, FREE)
    assert (second_payload, second_id != lease_id) == (payload, True)
    assert queue.settle(SITE, second_id, [(b"{}", b"")], [], FREE).items == 1


def test_a_renewed_lease_stays_with_its_worker(redis_server: RedisServer) -> None:
    queue = queue_on(redis_server, ADWATCH_FLEET_LEASE_SECONDS=0.4, ADWATCH_FLEET_HEARTBEAT=0.1)
    queue.settle(SITE, "", [], [page("http://a/1")], FREE)
    lease_id, _, _ = queue.lease(SITE, FREE)
    for _ in range(4):
        time.sleep(0.2)
        assert queue.renew(SITE, [lease_id]) == 1
    assert queue.lease(SITE, FREE) is None


def test_a_page_settled_by_a_worker_whose_lease_moved_on_is_not_settled_twice(redis_server: RedisServer) -> None:
    queue = queue_on(redis_server, ADWATCH_FLEET_LEASE_SECONDS=0.4, ADWATCH_FLEET_HEARTBEAT=0.1)
    queue.settle(SITE, "", [], [page("http://a/1")], FREE)
    lease_id, _, _ = queue.lease(SITE, FREE)
    time.sleep(0.5)
    assert queue.lease(SITE, FREE) is not None  # another worker holds it now
    assert queue.settle(SITE, lease_id, [(b"{}", b"")], [], FREE).stale
    assert queue.redis.xlen(queue.key("items")) == 0


def test_a_request_whose_lease_keeps_expiring_goes_to_the_dead_list(redis_server: RedisServer) -> None:
    queue = queue_on(redis_server, ADWATCH_FLEET_LEASE_SECONDS=0.2, ADWATCH_FLEET_HEARTBEAT=0.1,
                     ADWATCH_FLEET_MAX_ATTEMPTS=2)
    queue.settle(SITE, "", [], [page("http://a/poison")], FREE)
    assert queue.lease(SITE, FREE) is not None
    time.sleep(0.3)
    assert queue.lease(SITE, FREE) is not None  # back once
    time.sleep(0.3)
    assert queue.lease(SITE, FREE) is None
    assert queue.redis.lrange(queue.key("dead", SITE), 0, -1) == [b"http://a/poison"]


def test_max_pages_caps_the_requests_a_crawl_admits(queue: FleetQueue) -> None:
    capped = Politeness(concurrency=8, delay=0, max_pages=3)
    settled = queue.settle(SITE, "", [], [page(f"http://a/{n}") for n in range(5)], capped)
    assert (settled.queued, settled.over_limit) == (3, 2)


def test_the_bloom_filter_keeps_its_error_rate_at_capacity(redis_server: RedisServer) -> None:
    queue = queue_on(redis_server, ADWATCH_FLEET_SEEN_CAPACITY=5000, ADWATCH_FLEET_SEEN_ERROR_RATE=0.01)
    queue.settle(SITE, "", [], [page(f"http://a/{n}") for n in range(5000)], FREE)
    assert all(queue.seen(SITE, [page(f"http://a/{n}").fingerprint for n in range(5000)]))
    false_positives = sum(queue.seen(SITE, [page(f"http://b/{n}").fingerprint for n in range(5000)]))
    assert false_positives / 5000 < 0.02  # expected 0.01; twice that would be a broken filter
    assert queue.redis.strlen(queue.key("seen", SITE)) <= queue.config.seen_bits // 8 + 1


def test_contradictory_settings_stop_at_start_up(redis_server: RedisServer) -> None:
    from crawler.exceptions import FleetError

    with pytest.raises(FleetError, match="HEARTBEAT"):
        queue_on(redis_server, ADWATCH_FLEET_LEASE_SECONDS=1, ADWATCH_FLEET_HEARTBEAT=1)
    with pytest.raises(FleetError, match="redis://"):
        FleetConfig.from_settings(project_settings({"ADWATCH_FLEET_URL": "http://127.0.0.1/"}))
