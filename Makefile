# Every target creates .venv and installs curate into it on first use; nothing else is needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export DVC_NO_ANALYTICS := 1
export HF_HUB_OFFLINE := 1

.PHONY: install browser demo test test-fast lint bench clean

install: $(VENV)/.installed

# torch is installed first at the pinned version so pip takes the local CPU build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

demo: install
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/curate demo demo-workspace

# The browser test drives Debian's chromium through playwright (no browser download). As root
# this installs it with apt-get; otherwise install it yourself or the browser test is skipped.
browser:
	@if [ -x /usr/lib/chromium/chromium ] || command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium (apt-get) for the browser test ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "note: chromium is not installed; the browser test will be skipped" \
		"(sudo apt-get install chromium)"; fi

# The tests also run the Ray backend on a local cluster: they need the `ray` extra.
$(VENV)/.installed-ray: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev,ray]"
	touch $@

test: install $(VENV)/.installed-ray browser
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q

test-fast: install
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q -m "not slow and not e2e and not integration"

lint: install
	$(BIN)/ruff check curate tests benchmarks
	$(BIN)/ruff format --check curate tests benchmarks

bench: install
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/embed_throughput.py

clean:
	rm -rf $(VENV) demo-workspace .pytest_cache .ruff_cache
