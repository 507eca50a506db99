# AdWatch — two commands on a fresh machine:
#   make demo   sets everything up, then crawls the local sandbox web into SQLite and prints a summary
#   make test   sets everything up, then runs the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages: Chromium for JS-rendered pages, screenshots and PDF reports (never a
# browser download), CJK fonts so Chinese renders, poppler-utils to check PDFs in tests,
# redis-server for the crawl fleet (its tests start their own on a free port).
DEBIAN_PACKAGES := chromium fonts-noto-cjk poppler-utils redis-server
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Playwright drives Debian's Chromium (ADWATCH_RENDER_EXECUTABLE_PATH); it never downloads a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: setup system-packages demo test lint bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

system-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

setup: system-packages $(STAMP)

demo: setup
	$(BIN)/adwatch demo

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/bench_crawl.py

# The README's console screenshots, taken by the end-to-end tests' browser from the sandbox crawl.
screenshots: setup
	ADWATCH_SCREENSHOT_DIR=docs/img $(BIN)/pytest tests/dashboards/test_console_e2e.py -k sqlite
	ADWATCH_SCREENSHOT_DIR=docs/img $(BIN)/pytest tests/dashboards/test_monitor_e2e.py tests/dashboards/test_plans_e2e.py

clean:
	rm -rf $(VENV) data .pytest_cache
