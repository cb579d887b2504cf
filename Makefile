# Every target creates and fills .venv when it is missing or pyproject.toml changed,
# so a fresh clone needs nothing but `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The packaging toolchain (the real SAM CLI, uv), pinned with hashes in requirements/tools.lock.
TOOLS := .package/tools
TOOLS_STAMP := $(TOOLS)/.installed
# This Makefile's directory: `sam build` runs the build-* recipes from a scratch copy.
SEGLIFT_ROOT := $(patsubst %/,%,$(dir $(abspath $(firstword $(MAKEFILE_LIST)))))

.PHONY: demo test lint typecheck bench simulate serve clean browser package lock

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

# What `sam build` ships, built by the real SAM CLI for the template's Runtime and
# Architectures and checked (sizes, handler imports, bytecode, time zones, cfn-lint on the
# transformed template): see README "Building and packaging".
$(TOOLS_STAMP): requirements/tools.lock
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements/tools.lock
	@touch $@

package: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/python -m devkit.packaging.package --sam $(TOOLS)/bin/sam $(ARGS)

# Re-resolve requirements/lambda.lock (ARGS=--upgrade for the newest versions) and
# regenerate the layers' requirements.txt from it.
lock: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/python -m devkit.packaging.lock --uv $(TOOLS)/bin/uv $(ARGS)

# Called by `sam build` (Metadata BuildMethod: makefile) with ARTIFACTS_DIR set.
build-SharedLayer build-ArrowLayer:
	$(SEGLIFT_ROOT)/$(BIN)/python -m devkit.packaging.build layer $(@:build-%=%) --artifacts "$(ARTIFACTS_DIR)"

build-%Function:
	$(SEGLIFT_ROOT)/$(BIN)/python -m devkit.packaging.build function $*Function --artifacts "$(ARTIFACTS_DIR)"

# Types of the Lambda code (functions/ and shared/); configuration in pyproject.toml.
typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck browser package
	$(BIN)/pytest $(ARGS)

bench: $(STAMP) package
	$(BIN)/python -m bench $(ARGS)

# The issue's fleet simulation alone (bench/fleet_bench.py: 300 shops, about 10 minutes
# here; `make simulate ARGS=--quick` runs 12). `make bench` runs it with the rest.
simulate: $(STAMP)
	$(BIN)/python -m bench fleet $(ARGS)

serve: $(STAMP)
	$(BIN)/seglift serve $(ARGS)

clean:
	rm -rf $(VENV) .bench .pytest_cache .ruff_cache .package .aws-sam
