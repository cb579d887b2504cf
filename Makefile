# Every target creates and fills .venv when it is missing or pyproject.toml changed,
# so a fresh clone needs nothing but `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench serve clean browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/seglift demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/cfn-lint template.yaml

# The dashboard's browser tests drive Debian's chromium through Playwright (its wheel
# ships only the driver): install the browser from apt when it is missing.
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

test: lint browser
	$(BIN)/pytest $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

serve: $(STAMP)
	$(BIN)/seglift serve $(ARGS)

clean:
	rm -rf $(VENV) .bench .pytest_cache .ruff_cache
