# seqpool: run `make devnet` for a local network, `make test` for every test.
SHELL := /bin/bash
CARGO ?= cargo
export PATH := $(CURDIR)/.bin:$(PATH)

.PHONY: all deps build proto-check contracts contracts-test contracts-gas test test-unit e2e chaos bench bench-smoke fmt fmt-check lint clean-devnet devnet devnet-up devnet-down

all: build

## Install pinned external tools into .bin/ (CometBFT via `go install`, forge/anvil/cast/solc-js via npm).
deps:
	@scripts/install-deps.sh

## Release binaries: target/release/seqpoold and target/release/seqpool-sidecar.
build:
	$(CARGO) build --release -p seqpoold --bin seqpoold
	$(CARGO) build --release -p seqpool-sidecar

## Protobuf files compile with protox (pure Rust; no system protoc).
proto-check:
	$(CARGO) check -p seqpool-proto

contracts: deps
	scripts/contracts.sh build

contracts-test: deps
	scripts/contracts.sh test

contracts-gas: deps
	scripts/contracts.sh gas

## Unit, property and in-process ABCI scenario tests of every crate (end-to-end tests excluded).
test-unit: deps
	$(CARGO) test --workspace --exclude seqpoold
	$(CARGO) test -p seqpoold --lib --bins --test mpc_signing --test mpc_members --test mpc_keygen

## End-to-end tests against real cometbft processes (and anvil), one devnet at a time.
e2e: deps
	$(CARGO) build -p seqpool-sidecar
	$(CARGO) test -p seqpoold --test 'e2e_*' --test bridge_watcher -- --test-threads=1

## Faults beyond make test's single case: L1 reorgs of depth 1, 2 and 5 while batches are relayed,
## on a devnet whose bridge waits 6 L1 blocks (every reorg within its confirmation depth).
chaos: deps
	$(CARGO) build -p seqpool-sidecar
	SEQPOOL_E2E_L1_CONFIRMATIONS=6 SEQPOOL_E2E_REORG_DEPTHS=1,2,5 \
		$(CARGO) test -p seqpoold --test e2e_mpc -- --test-threads=1 --nocapture a_node_sending_invalid_shares

## Local devnet: 4 validators (cometbft + seqpoold) in .devnet/; see docs/operations.md.
devnet: deps build
	scripts/devnet.sh run

## The devnet in the background; returns once every node is past height 2.
devnet-up: deps build
	scripts/devnet.sh up

devnet-down:
	scripts/devnet.sh down

## Everything CI runs.
test: deps fmt-check lint test-unit contracts-test e2e bench-smoke
	@echo "make test: all suites passed"

## Every benchmark, then a summary (step, ok/FAILED, time, headline figure); see docs/benchmarks.md.
bench: deps
	scripts/bench.sh

## Every step of make bench in a short form on the dev-profile build (make test runs it): fails
## when a step fails or prints no figure, never on speed.
bench-smoke: deps
	scripts/bench.sh --smoke

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

## Clippy, and no file of a crate imports a file that imports it back (scripts/import-cycles.py).
lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	python3 scripts/import-cycles.py
