# The README's two commands are `make site` and `make test`. Both create (or reuse) the virtual
# environment in .venv and install the project into it from pyproject.toml first.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
# npm ci writes this file; it is remade when package-lock.json changes.
NODE   := node_modules/.package-lock.json
# Lighthouse, for `make audit` only: its own package.json and lock, apart from the site's.
LIGHTHOUSE := scripts/lighthouse/node_modules/.package-lock.json

export NO_MKDOCS_2_WARNING := 1   # mkdocs-material prints an advert for its successor otherwise
export TF_CPP_MIN_LOG_LEVEL := 3  # TensorFlow's start-up chatter hides the build's progress

.PHONY: site assets serve test test-browser browser bench audit clean

# Demos run two at a time: each small model leaves part of a 2-core machine idle (Python
# between steps, plotting, the kernel starting), and the pair fills it; see "Cold build" in
# BENCHMARKS.md. `make site JOBS=1` runs them one after another.
JOBS ?= 2

## site: set up, run every stale demo (default profile), build the site into site/
site: $(STAMP) $(NODE)
	$(PY) scripts/build.py --jobs $(JOBS) $(ARGS)

## assets: run the stale demos only, no mkdocs (e.g. `make assets ARGS="--only text_generation"`)
assets: $(STAMP) $(NODE)
	$(PY) scripts/build.py --assets-only --jobs $(JOBS) $(ARGS)

## serve: preview on http://127.0.0.1:8000, reloading on edits (run `make site` once first)
serve: $(STAMP) $(NODE)
	$(PY) -m mkdocs serve

## test: set up (including headless Chromium) and run the whole test suite
test: $(STAMP) $(NODE) browser
	$(PY) -m pytest $(ARGS)

## test-browser: only the real-browser tests of the built site
test-browser: $(STAMP) $(NODE) browser
	$(PY) -m pytest -m browser $(ARGS)

## bench: every demo from scratch in the default profile; rewrites BENCHMARKS.md
## (`make bench ARGS="--cold-build 2"` in a fresh clone times the whole cold build instead;
##  `make bench ARGS=--ci` times `bash .ci/run` in a fresh clone of the last commit)
bench: $(STAMP) $(NODE)
	$(PY) scripts/bench.py $(ARGS)

## audit: Lighthouse (mobile) over every page of the built site in site/; scores into BENCHMARKS.md
audit: $(STAMP) $(LIGHTHOUSE) browser
	CHROME_PATH=$${CHROME_PATH:-/usr/bin/chromium} $(PY) scripts/audit.py $(ARGS)

## browser: Debian's chromium and chromedriver for the browser tests (no browser download)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "Install Debian's chromium and chromium-driver (sudo apt-get install chromium chromium-driver) for the browser tests."; fi; }

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $@

# The browser-side packages (TensorFlow.js, the search shim), pinned in package-lock.json and
# copied into the site by the build. Debian's nodejs and npm are installed when missing.
$(NODE): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo "Install Node.js and npm (sudo apt-get install nodejs npm)."; exit 1; fi; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(LIGHTHOUSE): scripts/lighthouse/package.json scripts/lighthouse/package-lock.json $(NODE)
	npm ci --prefix scripts/lighthouse --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf site docs/generated .cache build
