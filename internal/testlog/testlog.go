// Package testlog gives the stages under test a logger that writes to the test's log.
package testlog

import (
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// New returns a logger that writes to t's log while t runs and drops lines after,
// so that goroutines finishing late cannot fail the test binary.
func New(t testing.TB) *slog.Logger {
	w := &writer{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type writer struct {
	t    testing.TB
	mu   sync.Mutex
	done atomic.Bool
}

func (w *writer) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.mu.Lock()
		w.t.Log(strings.TrimRight(string(p), "\n"))
		w.mu.Unlock()
	}
	return len(p), nil
}
