# Hindsight. `make demo` runs the main job on embedded defaults; `make test` installs what
# the tests need (kcat, ...) and runs the whole suite. Both work on a fresh machine with
# Go, gcc and git.

GO        ?= go
BIN       ?= bin/hindsight
PKGS      ?= ./...
TEST_TIMEOUT ?= 20m
BENCHTIME ?= 1s
FUZZTIME  ?= 30s

.PHONY: all build demo test test-deps bench fuzz vet clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/hindsight

# The main job on embedded defaults: an embedded broker, a temporary file:// lake, sample
# rules, synthetic events; alerts and a backfill show in the terminal. DEMO_FOR=0 runs
# until Ctrl-C.
DEMO_FOR ?= 40s
demo: build
	$(BIN) demo --duration $(DEMO_FOR)

# Tools the tests drive for real: kcat (Debian) talks Kafka to the built binary.
test-deps:
	@command -v kcat >/dev/null 2>&1 || { \
	  echo "installing kcat"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq kcat >/dev/null; }

test: test-deps
	$(GO) vet $(PKGS)
	HINDSIGHT_HANDOFF_SEEDS=$${HINDSIGHT_HANDOFF_SEEDS:-10} $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./jsonpath ./rule ./lakehouse

# Short runs of every fuzzer; FUZZTIME=10m for a longer hunt.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./jsonpath
	$(GO) test -run '^$$' -fuzz '^FuzzEval$$' -fuzztime $(FUZZTIME) ./jsonpath
	$(GO) test -run '^$$' -fuzz '^FuzzParseControl$$' -fuzztime $(FUZZTIME) ./rule

vet:
	$(GO) vet $(PKGS)

clean:
	rm -rf bin
