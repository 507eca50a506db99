"""The crawl fleet: many workers on many machines, one ingest, one Redis between them.

* :mod:`crawler.fleet.queue` keeps the shared state on Redis: a queue of requests per site,
  leases with deadlines on the requests being fetched, per-site politeness for the whole fleet,
  a Bloom filter per site as the duplicate filter, and the stream of items to the ingest;
* :mod:`crawler.fleet.worker` runs Scrapy crawlers that take their requests from that queue
  (``adwatch fleet worker``);
* :mod:`crawler.fleet.ingest` runs the local crawl's item pipelines over the stream
  (``adwatch fleet ingest``), acknowledging an item only once it is stored;
* :mod:`crawler.fleet.status` reads the fleet's state for ``adwatch fleet status``.

See docs/scaling.md for the design, its guarantees and the figures measured here.
"""
