"""Scrapy settings for AdWatch, and every default of AdWatch's own components.

AdWatch's settings all start with ``ADWATCH_`` and are documented in README.md
("Settings").  Any of them can be overridden from the environment with a
variable of the same name; lists and mappings are read as JSON there.
"""

from __future__ import annotations

BOT_NAME = "adwatch"
SPIDER_MODULES: list[str] = []
SPIDER_LOADER_CLASS = "crawler.spiderloader.ProfileSpiderLoader"

USER_AGENT = "AdWatch/0.1 (+网络广告监测; advertising supervision crawler)"
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# No control port per crawl: it listens on the network and nothing here uses it.
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"

CONCURRENT_REQUESTS = 32
# Scrapy starts this many tasks for every response's output; each page yields a
# handful of items and links, and the default of 100 costs more than the pages.
CONCURRENT_ITEMS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_TIMEOUT = 20
RETRY_ENABLED = True
RETRY_TIMES = 1
DEPTH_LIMIT = 20
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

# With a JOBDIR, the crawl's state lives in a frontier that survives kill -9 (crawler/frontier.py).
SCHEDULER = "crawler.frontier.FrontierScheduler"
DUPEFILTER_CLASS = "crawler.frontier.FrontierDupeFilter"
SPIDER_MIDDLEWARES = {
    # Lowest order: it sees what the spider's output finally is, after every other middleware.
    "crawler.frontier.FrontierMiddleware": 10,
}

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    # Before robots.txt: not even a site's robots.txt is fetched from a private address.
    "crawler.middlewares.private_address.PrivateAddressMiddleware": 50,
    "crawler.middlewares.robotstxt.RobotsTxtMiddleware": 100,
    "crawler.middlewares.encoding.EncodingMiddleware": 590,
    "crawler.middlewares.raw_archive.RawArchiveMiddleware": 595,
    # Rendered responses must reach raw archive and encoding as the final DOM, so render sits after them.
    "crawler.middlewares.render.RenderMiddleware": 650,
}

ITEM_PIPELINES = {
    "crawler.pipelines.normalise.NormalisePipeline": 100,
    "crawler.pipelines.rule_check.RuleCheckPipeline": 200,
    "crawler.pipelines.market_check.MarketCheckPipeline": 250,
    "crawler.pipelines.store.StorePipeline": 300,
    "crawler.pipelines.price_history.PriceHistoryPipeline": 350,
    "crawler.pipelines.index.IndexPipeline": 400,
    "crawler.pipelines.evidence.EvidencePipeline": 500,
}

EXTENSIONS = {
    "crawler.extensions.crawl_report.CrawlReportExtension": 500,
    "crawler.extensions.crawl_monitor.CrawlMonitorExtension": 510,
    "crawler.extensions.alerts.AlertsExtension": 520,
}

# --- AdWatch's own settings (documented in README.md, "Settings") ---

ADWATCH_ALERTS_CONSOLE_URL = ""
ADWATCH_ALERTS_ENABLED = True
ADWATCH_ALERTS_FILE = ""
ADWATCH_ALERTS_TIMEOUT = 10.0
ADWATCH_BASE_URLS: dict[str, str] = {}
ADWATCH_CONSOLE_DB_PATH = ""
ADWATCH_CONSOLE_HOST = "127.0.0.1"
ADWATCH_CONSOLE_LOGIN_MAX_FAILURES = 5
ADWATCH_CONSOLE_LOGIN_WINDOW = 900.0
ADWATCH_CONSOLE_PAGE_SIZE = 50
ADWATCH_CONSOLE_PORT = 8700
ADWATCH_CONSOLE_SECURE_COOKIE = False
ADWATCH_CONSOLE_SESSION_HOURS = 8.0
ADWATCH_DATA_DIR = "data"
ADWATCH_DB_PATH = ""
ADWATCH_ENCODING_ENABLED = True
ADWATCH_EVIDENCE_BROWSER = "chromium"
ADWATCH_EVIDENCE_CONCURRENCY = 2
ADWATCH_EVIDENCE_DIR = ""
ADWATCH_EVIDENCE_ENABLED = True
ADWATCH_EVIDENCE_PAGE_TIMEOUT = 15.0
ADWATCH_EVIDENCE_SCREENSHOT_ENABLED = True
ADWATCH_EVIDENCE_SIGNING_KEY = ""
ADWATCH_EVIDENCE_SITES: list[str] = []
ADWATCH_EVIDENCE_TRUSTED_KEYS: list[str] = []
ADWATCH_EVIDENCE_TSA_URL = ""
ADWATCH_FLEET_CONSUMER = ""
ADWATCH_FLEET_HEARTBEAT = 2.0
ADWATCH_FLEET_INGEST_BATCH = 200
ADWATCH_FLEET_LEASE_SECONDS = 60.0
ADWATCH_FLEET_MAX_ATTEMPTS = 3
ADWATCH_FLEET_POLL_INTERVAL = 0.05
ADWATCH_FLEET_PREFIX = "adwatch:fleet"
ADWATCH_FLEET_SEEN_CAPACITY = 100000
ADWATCH_FLEET_SEEN_ERROR_RATE = 0.001
ADWATCH_FLEET_SEEN_TTL = 172800.0
ADWATCH_FLEET_URL = ""
ADWATCH_INDEX = ""
ADWATCH_INDEX_BATCH_SIZE = 500
ADWATCH_INDEX_ENABLED = True
ADWATCH_INDEX_JOURNAL_PATH = ""
ADWATCH_INDEX_LEDGER_PATH = ""
ADWATCH_INDEX_MAX_RETRIES = 3
ADWATCH_INDEX_PREFIX = "adwatch"
ADWATCH_INDEX_REPLICAS = 1
ADWATCH_INDEX_RETRY_INTERVAL = 30.0
ADWATCH_INDEX_TIMEOUT = 10.0
ADWATCH_MARKET_BURST_HOURS = 6.0
ADWATCH_MARKET_BURST_MIN = 8
ADWATCH_MARKET_DUPLICATE_MIN = 3
ADWATCH_MARKET_DUPLICATE_SIMILARITY = 0.6
ADWATCH_MARKET_ENABLED = True
ADWATCH_MARKET_PRICE_PEERS = 3
ADWATCH_MARKET_PRICE_RATIO = 0.3
ADWATCH_MARKET_SALES_MIN_GAIN = 1000
ADWATCH_MARKET_SALES_REVIEW_SHARE = 0.005
ADWATCH_MONITOR_ENABLED = True
ADWATCH_MONITOR_INTERVAL = 2.0
ADWATCH_MONITOR_LOG_DIR = ""
ADWATCH_MONITOR_QUIET_RATIO = 0.3
ADWATCH_MONITOR_RECENT_RUNS = 5
ADWATCH_PRICE_COMPARE_DAYS = 7
ADWATCH_PRICE_DISCOUNT_TOLERANCE = 0.02
ADWATCH_PRICE_HISTORY_ENABLED = True
ADWATCH_PRICE_LOOKBACK_DAYS = 30
ADWATCH_PROFILE_DIRS: list[str] = ["crawler/profiles", "sandbox/profiles"]
ADWATCH_RAW_ARCHIVE_ENABLED = True
ADWATCH_RAW_DIR = ""
ADWATCH_RENDER_ABORT_RESOURCE_TYPES: list[str] = ["image", "font", "media"]
# The closed-network flags: no background requests to Google's hosts, no QUIC, no GPU.
ADWATCH_RENDER_BROWSER_ARGS: list[str] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADWATCH_RENDER_CONTEXT_PAGE_LIMIT = 100
ADWATCH_RENDER_ENABLED = True
ADWATCH_RENDER_EXECUTABLE_PATH = "/usr/bin/chromium"
ADWATCH_RENDER_MAX_CONTEXTS = 2
ADWATCH_RENDER_MAX_PAGES_PER_CONTEXT = 8
ADWATCH_RENDER_NAVIGATION_TIMEOUT = 20.0
ADWATCH_RENDER_RETRY_TIMES = 2
ADWATCH_RENDER_WAIT_TIMEOUT = 10.0
ADWATCH_RULES_DIR = ""
ADWATCH_RULE_CHECK_ENABLED = True
ADWATCH_SCHEDULE_DB_URL = ""
ADWATCH_SCHEDULE_DIRS: list[str] = ["crawler/schedules"]
ADWATCH_SCHEDULE_ENABLED = True
ADWATCH_SCHEDULE_KILL_GRACE = 30.0
ADWATCH_SCHEDULE_MAX_RUNTIME = 3600.0
ADWATCH_SCHEDULE_MISFIRE_GRACE = 86400.0
ADWATCH_SCHEDULE_POLL_SECONDS = 30.0
ADWATCH_SCHEDULE_TIMEZONE = "Asia/Shanghai"
ADWATCH_SCHEDULE_WORKERS = 2
ADWATCH_STORE_ENABLED = True
ADWATCH_STORE_BATCH_SIZE = 50


def _from_environment(namespace: dict[str, object]) -> None:
    """Let ADWATCH_* environment variables override the defaults above."""
    import json
    import os

    for name, default in list(namespace.items()):
        if not name.startswith("ADWATCH_") or name not in os.environ:
            continue
        raw = os.environ[name]
        if isinstance(default, bool):
            namespace[name] = raw.strip().lower() in ("1", "true", "yes", "on")
        elif isinstance(default, (int, float)):
            namespace[name] = type(default)(raw)
        elif isinstance(default, (list, dict)):
            namespace[name] = json.loads(raw)
        else:
            namespace[name] = raw


_from_environment(globals())
