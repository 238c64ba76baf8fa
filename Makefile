# Broker: `make run` starts the server, `make test` runs the developer's tests (lint,
# build, the in-process suites). Both install what they need first when it is missing.
# `make help` lists every target; docs/development.md describes the tiers.

SWIFT ?= swift
DATA_DIR ?= ./data
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := FuzzSegments FuzzInsertBody FuzzCheckpoint

.PHONY: help ci docs api-check bench bench-full load load-cluster deps deps-lint deps-browser deps-openapi test-openapi test-cluster test-promises build release run test test-system test-system-swift test-console lint format screenshot test-tsan stress fuzz clean

# What swift format checks (.swift-format); the toolchain has it.
FORMAT_PATHS := Sources Tests Benchmarks/Sources Benchmarks/Benchmarks Fuzz/Sources Plugins

# The system tier's Swift target: the suites that run `broker` and the crash writer as
# processes. Everything else is the in-process tier.
SYSTEM_TESTS := BrokerSystemTests

## help: this list
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## deps: install liblz4-dev and pkg-config (the build), openssl and curl (the TLS and token tests), nats-server (the cluster tests) with apt-get when missing
deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists liblz4 || ! command -v openssl >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1 || { ! command -v nats-server >/dev/null 2>&1 && ! [ -x /usr/sbin/nats-server ]; }; then \
		echo "Installing liblz4-dev, pkg-config, openssl, curl and nats-server with apt-get"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liblz4-dev pkg-config openssl curl nats-server; \
	fi

## build: debug build of everything, tests included
build: deps
	$(SWIFT) build --build-tests

## release: optimised build of the broker executable
release: deps
	$(SWIFT) build -c release --product broker

## run: build in release mode and serve ./data on port 8080
run: release
	$$($(SWIFT) build -c release --show-bin-path)/broker serve --data-dir $(DATA_DIR)

## deps-browser: headless Chromium and Selenium for the console tests, h2 for a stalled HTTP/2 client
deps-browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
		echo "Installing chromium and chromium-driver with apt-get"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi
	@python3 -c "import selenium, pytest, h2" 2>/dev/null || python3 -m pip install -q selenium pytest h2

## test: the developer's loop: lint, one debug build, the in-process Swift suites (no process of broker's is started)
test: lint build
	$(SWIFT) test --skip-build --skip $(SYSTEM_TESTS)

## test-system: the system tier: the Swift suites that run the binary (tools, processes, the crash loop), the promises through the binary, the console in Chromium, Schemathesis against /openapi.json, the JetStream cluster
test-system: test-system-swift test-promises test-console test-openapi test-cluster

test-system-swift: build
	$(SWIFT) test --skip-build --filter $(SYSTEM_TESTS)

## ci: every tier, each step timed (what .ci/run calls): make test, make docs, make test-system, make test-tsan
ci:
	@set -e; times=$$(mktemp); \
	for step in test docs test-system-swift test-promises test-console test-openapi test-cluster test-tsan; do \
		start=$$(date +%s); \
		$(MAKE) --no-print-directory $$step; \
		echo "make $$step: $$(( $$(date +%s) - start )) s" | tee -a $$times; \
	done; \
	echo "== wall time of each step"; cat $$times; rm -f $$times

## deps-lint: node, tsc (node-typescript) and tidy from Debian, openapi-spec-validator from PyPI, for the web assets' lint
deps-lint:
	@if ! command -v node >/dev/null 2>&1 || ! command -v tsc >/dev/null 2>&1 || ! command -v tidy >/dev/null 2>&1; then \
		echo "Installing node-typescript and tidy with apt-get"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq node-typescript tidy; \
	fi
	@command -v openapi-spec-validator >/dev/null 2>&1 || python3 -m pip install -q openapi-spec-validator

## lint: swift format lint --strict over the Swift sources, then each web asset in its own language (Tests/Lint/lint-assets.sh)
lint: deps-lint
	$(SWIFT) format lint --recursive --strict $(FORMAT_PATHS)
	Tests/Lint/lint-assets.sh

## docs: the DocC documentation of the library's products, into .build/docs (docc from the toolchain; warnings fail it)
DOC_MODULES := BrokerStore BrokerLog BrokerHTTP BrokerAuth
docs: deps
	$(SWIFT) package dump-symbol-graph --minimum-access-level public >/dev/null
	@set -e; mkdir -p .build/docs; graphs=$$(find .build -type d -name symbolgraph | head -1); \
	for module in $(DOC_MODULES); do \
		mine=$$(mktemp -d); find $$graphs -name "$$module.symbols.json" -o -name "$$module@*.symbols.json" | xargs cp -t $$mine; \
		$$(dirname $$(readlink -f $$(command -v $(SWIFT))))/docc convert Sources/$$module/$$module.docc --additional-symbol-graph-dir $$mine \
			--fallback-display-name $$module --fallback-bundle-identifier org.broker.$$module \
			--output-path .build/docs/$$module.doccarchive --warnings-as-errors >/dev/null; \
		rm -rf $$mine; echo "docs: .build/docs/$$module.doccarchive"; \
	done

## api-check: the library's public API against BASELINE (a git ref), with swift package diagnose-api-breaking-changes
api-check: deps
	@test -n "$(BASELINE)" || { echo "usage: make api-check BASELINE=<git ref>"; exit 64; }
	$(SWIFT) package diagnose-api-breaking-changes $(BASELINE) --products BrokerStore BrokerLog BrokerHTTP BrokerAuth

## format: rewrite the same files in the house style
format:
	$(SWIFT) format --in-place --recursive $(FORMAT_PATHS)

## test-promises: the binary's promises (Tests/Promises): recovery from torn images (every read, the appends after, verify, a reopen), the SSE hand-over with a busy process per core
test-promises: build
	@python3 -c "import pytest" 2>/dev/null || python3 -m pip install -q pytest
	cd Tests/Promises && python3 -m pytest -q test_recovery.py test_handover.py

## test-console: the console, broker.js and HTTP/2 streams in headless Chromium (Tests/Console)
test-console: build deps-browser
	cd Tests/Console && python3 -m pytest -q test_console.py test_secure.py test_client.py test_live_form.py

## deps-openapi: Schemathesis, from PyPI
deps-openapi:
	@python3 -c "import schemathesis" 2>/dev/null || python3 -m pip install -q schemathesis

## test-openapi: Schemathesis against a live server with its own OpenAPI document (Tests/OpenAPI/run.sh)
test-openapi: build deps deps-openapi
	Tests/OpenAPI/run.sh

## test-cluster: 3-node nats-server clusters and fronts on 127.0.0.1: fronts started before, with and after the nodes, failover of the leader and of a front, a front that is behind, restart, export (Tests/Cluster)
test-cluster: build deps deps-browser
	cd Tests/Cluster && python3 -m pytest -q test_readiness.py test_cluster.py

## screenshot: docs/console.png, the console with sample data
screenshot: build deps-browser
	cd Tests/Console && python3 screenshot.py

# The benchmarks' package links BrokerNATS, a product only with this set (Package.swift).
bench bench-full load load-cluster: export BROKER_BENCHMARKS = 1

## bench: the benchmark suite at sizes that finish in a few minutes (Benchmarks/)
bench: deps
	cd Benchmarks && $(SWIFT) package --disable-sandbox benchmark --format markdown

## bench-full: the suite at the sizes of docs/performance.md, then the dd and lz4 references
bench-full: deps
	cd Benchmarks && BROKER_BENCH_FULL=1 $(SWIFT) package --disable-sandbox benchmark --format markdown
	@command -v lz4 >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq lz4)
	Benchmarks/reference.sh

## load: the release server under load on loopback (wrk and Benchmarks/Sources/LoadGenerator: inserts, paced latency and SSE fan-out against nginx with nchan, idle subscribers)
load: release
	@command -v wrk >/dev/null && command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] || \
		($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light libnginx-mod-nchan)
	Benchmarks/load/run.sh

## test-tsan: the in-process tier under ThreadSanitizer (a separate build in .build-tsan), one test at a time
# TSan slows everything about ten times, and on two cores the tests in parallel starved each
# other's tasks past their time limits (a hub burst of 0.2 s took 37 to 56 s); one at a time
# each test still runs its own threads concurrently.
test-tsan: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS="suppressions=$(CURDIR)/Tests/tsan-suppressions.txt" $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --no-parallel --skip $(SYSTEM_TESTS)

## load-cluster: on one 3-node nats-server cluster: inserts through one front against raw JetStream publishing, fan-out through two fronts against one single node (Benchmarks/load/cluster.sh)
load-cluster: release deps
	Benchmarks/load/cluster.sh

## stress: the crash loop with 1,000 SIGKILLs (make test-system runs 50)
stress: build
	BROKER_CRASH_KILLS=1000 $(SWIFT) test --skip-build --filter CrashLoopTests

## fuzz: each libFuzzer target for FUZZ_SECONDS; the corpus in Fixtures/fuzz/ is
## replaced by a minimal set covering the old corpus and what the run found
fuzz: export BROKER_FUZZ = 1
fuzz: deps
	cd Fuzz && $(SWIFT) build -c release -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library
	@set -e; bin=$$(cd Fuzz && $(SWIFT) build -c release --show-bin-path); \
	for target in $(FUZZ_TARGETS); do \
		case $$target in FuzzSegments) corpus=Fixtures/fuzz/segments;; FuzzInsertBody) corpus=Fixtures/fuzz/insert-body;; FuzzCheckpoint) corpus=Fixtures/fuzz/checkpoint;; esac; \
		work=$$(mktemp -d); \
		echo "== $$target for $(FUZZ_SECONDS) s"; \
		$$bin/$$target -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=Fuzz/crash- $$work $$corpus; \
		minimal=$$(mktemp -d); \
		$$bin/$$target -merge=1 $$minimal $$corpus $$work >/dev/null 2>&1; \
		rm -rf $$corpus $$work; mv $$minimal $$corpus; \
		echo "$$corpus: $$(ls $$corpus | wc -l) inputs"; \
	done

clean:
	rm -rf .build .build-tsan Fuzz/.build Benchmarks/.build
