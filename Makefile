# LinePulse. `make run` starts a live demo plant; `make test` runs the whole suite.
GO      ?= go
BIN     ?= bin/linepulse
FUZZTIME ?= 10s

.PHONY: run build test test-go fuzz lint bench clean assets

run: assets ## embedded NATS + SQLite under ./data, a demo plant and its simulator
	$(GO) run ./cmd/linepulse serve --demo

build: assets
	$(GO) build -o $(BIN) ./cmd/linepulse

test: assets ## the whole suite, MySQL half included (a throwaway MariaDB is started when installed)
	./deploy/dev/test.sh

fuzz: ## every fuzz target for FUZZTIME each
	./deploy/dev/fuzz.sh $(FUZZTIME)

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## gofmt, go vet and staticcheck (fetched from the Go module proxy on first use)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench: ## Go micro-benchmarks (the system benchmarks are `linepulse bench ...`)
	$(GO) test -run '^$$' -bench . -benchmem ./...

assets: ## browser bundle (npm packages, package-lock.json) into web/ui/static/dist, embedded by web/ui
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
	npm run --silent build

clean:
	rm -rf bin
