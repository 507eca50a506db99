"""AdWatch's own signals, sent through ``crawler.signals`` like Scrapy's.

* ``items_stored(items, outcomes)``: the store pipeline has committed a batch; the fleet's
  ingest acknowledges those items on the stream only then.
* ``store_flush_requested()``: write the store's batch now (the ingest sends it when its stream
  runs dry; a local crawl writes on ``spider_idle`` instead).
* ``fleet_request_failed(request)``: a fleet worker's request ended in its errback, so the page
  gave nothing and its lease can be released.
* ``hits_added(ad_ids)``: hits were stored on these ads after the crawl (price tricks, market
  findings over the whole crawl); the index pipeline sends those ads to the search engine.
"""

from __future__ import annotations

items_stored = object()
store_flush_requested = object()
fleet_request_failed = object()
hits_added = object()
