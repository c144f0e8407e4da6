package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// An --out that cannot be written (its directory does not exist) is bad input, refused
// before the benchmarks whose report it would hold: `hindsight bench all --out
// report.json` runs "a few minutes", and it ran them all, printed the whole report, then
// failed on "bench: writing report: open …: no such file or directory", the run lost for
// a typo in the path.
func TestBenchUnwritableOutIsRefusedBeforeTheRun(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "no-such-dir", "report.json")
	out, err := run(t, "", "bench", "eval", "--duration", "200ms", "--rules", "10", "--out", bad)
	if err == nil {
		t.Fatalf("bench eval --out %s: exit status 0, want the path refused", bad)
	}
	if strings.Contains(out, "ratio:") {
		t.Errorf("bench eval --out %s: the benchmark ran to its end before the path was refused (%v); output:\n%s", bad, err, out)
	}
}

// backtest's --out has the same shape (written once the lake and Kafka are read): it is
// refused before either is read, here before the lake that does not exist either.
func TestBacktestUnwritableOutIsRefusedBeforeTheRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "no-such-dir", "report.json")
	out, err := run(t, "", "backtest", "-f", filepath.Join("..", "..", "testdata", "rules", "sample.yaml"), "--brokers", "",
		"--lake", "file://"+filepath.Join(dir, "no-lake"), "--out", bad)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "--out") {
		t.Errorf("backtest --out %s: exit status %d (%v), want 2 naming --out\n%s", bad, exitCode(err), err, out)
	}
}
