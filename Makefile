# Hindsight. `make demo` runs the main job on embedded defaults; `make test` installs what
# the tests need (kcat, ...) and runs the whole suite. Both work on a fresh machine with
# Go, gcc and git.

GO        ?= go
BIN       ?= bin/hindsight
PKGS      ?= ./...
TEST_TIMEOUT ?= 20m
BENCHTIME ?= 1s
FUZZTIME  ?= 30s
# What `hindsight version` says: the release (a tag, else the commit) and the commit.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS   ?= -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: all build demo test test-deps bench bench-ci fuzz vet clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/hindsight

# The main job on embedded defaults: an embedded broker, a temporary file:// lake, sample
# rules, synthetic events; alerts and a backfill show in the terminal. DEMO_FOR=0 runs
# until Ctrl-C.
DEMO_FOR ?= 40s
demo: build
	$(BIN) demo --duration $(DEMO_FOR)

# Tools the tests drive for real: kcat (Debian) talks Kafka to the built binary, curl runs
# the README's commands; headless Chromium (Debian chromium, chromium-driver) drives the
# rule console's page.
test-deps:
	@{ command -v kcat >/dev/null 2>&1 && command -v curl >/dev/null 2>&1; } || { \
	  echo "installing kcat and curl"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq kcat curl >/dev/null; }
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || { \
	  echo "installing chromium and chromium-driver"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

# The stages whose goroutines share state run their short tests again under the race
# detector (about 2 minutes on 2 cores): it caught a fed batch touched after the
# archiver could recycle it, a nil dereference the benchmarks hit once in a few runs.
# Two tests at a time, as on the command line's default: under -short a test binary
# runs more at once (internal/testwide), which the race detector's cost does not suit.
RACE_PKGS ?= ./ingest ./lakehouse ./live ./window ./notify ./console

# With cold caches the race build alone took about 4 minutes, after the suite; it is
# compiled in the background while the suite runs (which mostly waits on brokers,
# timers and retries), so that the race pass after it only links and runs. Its own
# output is dropped: the race pass reports.
test: test-deps
	$(GO) vet $(PKGS)
	$(GO) test -race -short -count=1 -run '^$$' $(RACE_PKGS) >/dev/null 2>&1 & prebuild=$$!; \
	HINDSIGHT_HANDOFF_SEEDS=$${HINDSIGHT_HANDOFF_SEEDS:-10} $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(PKGS); status=$$?; \
	wait $$prebuild; exit $$status
	$(GO) test -race -short -count=1 -parallel 2 -timeout $(TEST_TIMEOUT) $(RACE_PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./jsonpath ./rule ./lakehouse

# The CI benchmark suite, under 3 minutes on 2 cores with the build: every benchmark of
# `hindsight bench all` at short sizes (--short), each against its baseline measured in
# the same run. The table goes to the log; report and plot to $(BENCH_CI_OUT)/. It fails
# only when a gated ratio (Hindsight ÷ baseline) regressed against the reference report
# beyond the margin: a timed ratio may fall to half its reference (BENCH_CI_MARGIN), a
# stable one (compression) by 5%, alerts delivered not at all (every probe's alert must
# arrive); absolute times are never gated. No --only: every benchmark is asked for, so
# one missing from the report fails the gate (all 11 gated ratios of the reference).
# To move the reference after a deliberate change: cp $(BENCH_CI_OUT)/report.json $(BENCH_CI_REFERENCE)
BENCH_CI_OUT       ?= bin/bench-ci
BENCH_CI_REFERENCE ?= bench/testdata/ci-reference.json
BENCH_CI_MARGIN    ?= 0.5
bench-ci: build
	@mkdir -p $(BENCH_CI_OUT)
	$(BIN) bench all --short --quiet --out $(BENCH_CI_OUT)/report.json --gate $(BENCH_CI_REFERENCE) --margin $(BENCH_CI_MARGIN)

# Short runs of every fuzzer: each func Fuzz… of each package, found in the sources so
# that a new one is never left out; FUZZTIME=10m for a longer hunt.
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
	  for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "$(GO) test -run '^\$$' -fuzz '^$$name\$$' -fuzztime $(FUZZTIME) $$(dirname $$f)"; \
	    $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$(dirname $$f); \
	  done; \
	done

vet:
	$(GO) vet $(PKGS)

clean:
	rm -rf bin
