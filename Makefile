# Broker: `make run` starts the server, `make test` runs the tests. Both install the
# system library they need (liblz4-dev) first when it is missing.

SWIFT ?= swift
DATA_DIR ?= ./data
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build release run test clean

## deps: install liblz4-dev and pkg-config with apt-get when missing
deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists liblz4; then \
		echo "Installing liblz4-dev and pkg-config with apt-get"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liblz4-dev pkg-config; \
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

## test: one debug build, then every test
test: build
	$(SWIFT) test --skip-build

clean:
	rm -rf .build
