# LinePulse. `make run` starts a live demo plant; `make test` runs the whole suite.
GO      ?= go
BIN     ?= bin/linepulse
FUZZTIME ?= 10s

.PHONY: run build test test-go fuzz lint bench clean

run: ## embedded NATS + SQLite under ./data, a demo plant and its simulator
	$(GO) run ./cmd/linepulse serve --demo

build:
	$(GO) build -o $(BIN) ./cmd/linepulse

test: ## the whole suite, MySQL half included (a throwaway MariaDB is started when installed)
	./deploy/dev/test.sh

fuzz: ## every fuzz target for FUZZTIME each
	./deploy/dev/fuzz.sh $(FUZZTIME)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench: ## Go micro-benchmarks (the system benchmarks are `linepulse bench ...`)
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
