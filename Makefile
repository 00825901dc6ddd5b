# tidecast: an SRS-compatible live-streaming server in two processes.
# `make help` lists the targets.

MODULES   := proto dataplane controlplane
GO        ?= go
TOOLS     := $(CURDIR)/.tools
export PATH := $(TOOLS):$(PATH)

# Pinned generator versions: `make proto` output depends on them.
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTOC_VERSION             := 3.21.12

FUZZTIME ?= 10s

.PHONY: help build run test test-unit test-isolated vet fuzz deps proto proto-check bench clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/controlplane and bin/dataplane
	cd controlplane && CGO_ENABLED=0 $(GO) build -o ../bin/controlplane ./cmd/controlplane
	cd dataplane && CGO_ENABLED=0 $(GO) build -o ../bin/dataplane ./cmd/dataplane

run: build ## run one control plane and one data plane here (API :1985, RTMP :1935, fleet :1988); Ctrl-C stops both
	./scripts/run.sh

deps: ## install what the tests need (idempotent)
	./scripts/install-deps.sh

test: deps vet test-unit test-isolated proto-check fuzz ## everything CI runs

vet: ## go vet every module
	@for m in $(MODULES); do echo "vet $$m"; (cd $$m && $(GO) vet ./...) || exit 1; done

test-unit: ## every test of the three modules, with the race detector
	$(GO) test -race -count=1 -timeout 20m ./proto/... ./dataplane/... ./controlplane/...

test-isolated: ## each module builds and vets on its own (GOWORK=off)
	@for m in $(MODULES); do echo "GOWORK=off build $$m"; (cd $$m && GOWORK=off $(GO) build ./... && GOWORK=off $(GO) vet ./...) || exit 1; done

fuzz: ## run every fuzz target for FUZZTIME each
	./scripts/fuzz.sh $(FUZZTIME)

proto: ## regenerate the gRPC contract's Go code with the pinned generators
	./scripts/proto.sh generate

proto-check: ## fail when the committed generated code is stale
	./scripts/proto.sh check

bench: build ## run the benchmark harness and print a table with the commands
	./scripts/bench.sh

clean: ## remove build output
	rm -rf bin
