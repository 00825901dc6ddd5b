# tidecast: an SRS-compatible live-streaming server in two processes.
# `make help` lists the targets.

MODULES   := proto dataplane controlplane deploy/lb
GO        ?= go
TOOLS     := $(CURDIR)/.tools
export PATH := $(TOOLS):$(PATH)

# Pinned generator versions: `make proto` output depends on them.
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTOC_VERSION             := 3.21.12

FUZZTIME ?= 10s

.PHONY: help build run test test-unit test-isolated vet fuzz deps proto proto-check bench clean docker e2e-compose

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/controlplane and bin/dataplane
	cd controlplane && CGO_ENABLED=0 $(GO) build -o ../bin/controlplane ./cmd/controlplane
	cd dataplane && CGO_ENABLED=0 $(GO) build -o ../bin/dataplane ./cmd/dataplane

run: build ## run one control plane and one data plane here (default config: API :1985, RTMP :1935, fleet :1988; CONF=srs.conf [TOKEN=...] runs yours); Ctrl-C stops both
	TOKEN='$(TOKEN)' ./scripts/run.sh $(CONF)

deps: ## install what the tests need (idempotent)
	./scripts/install-deps.sh

test: deps vet test-unit test-isolated proto-check fuzz e2e-compose ## everything CI runs

vet: ## go vet every module
	@for m in $(MODULES); do echo "vet $$m"; (cd $$m && $(GO) vet ./...) || exit 1; done

test-unit: ## every test of every module, with the race detector
	$(GO) test -race -count=1 -timeout 20m ./proto/... ./dataplane/... ./controlplane/... ./deploy/lb/...

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

# Images: FROM scratch around static binaries built here; nothing is pulled.
DOCKER_TAG ?= dev
DOCKER_CTX := bin/docker
GO_STATIC  := CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w'

docker: ## build the images tidecast/{controlplane,dataplane,lb}:dev (DOCKER_TAG) FROM scratch, static binaries
	@mkdir -p $(DOCKER_CTX)/controlplane $(DOCKER_CTX)/dataplane $(DOCKER_CTX)/lb
	cd controlplane && $(GO_STATIC) -o ../$(DOCKER_CTX)/controlplane/controlplane ./cmd/controlplane
	cd dataplane && $(GO_STATIC) -o ../$(DOCKER_CTX)/dataplane/dataplane ./cmd/dataplane
	cd deploy/lb && GOWORK=off $(GO_STATIC) -o ../../$(DOCKER_CTX)/lb/lb .
	@for b in controlplane dataplane lb; do \
		echo "docker build tidecast/$$b:$(DOCKER_TAG)"; \
		docker build -q -f deploy/$$b.Dockerfile -t tidecast/$$b:$(DOCKER_TAG) $(DOCKER_CTX)/$$b || exit 1; \
	done
	@# the images these tags replaced, unless a container still uses them
	@docker image prune -f --filter label=org.opencontainers.image.vendor=tidecast >/dev/null

e2e-compose: docker ## the compose deployment end to end: 2 control planes, 3 workers, ffmpeg; always torn down
	TIDECAST_TAG=$(DOCKER_TAG) timeout -k 240 900 ./scripts/e2e-compose.sh

clean: ## remove build output
	rm -rf bin
