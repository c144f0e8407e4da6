package live

import (
	"log/slog"
	"testing"
	"time"
)

// TestEmbeddedArchiverTakesShutdownTimeout: the embedded archiver's final flush is a
// step of the daemon's stop, bounded by --shutdown-timeout as the others are. It was
// left to the archiver's own default (30 s), so a stop with storage down outlasted a
// --shutdown-timeout of 2 s by half a minute.
func TestEmbeddedArchiverTakesShutdownTimeout(t *testing.T) {
	cfg := Config{Logger: slog.Default(), ShutdownTimeout: 2 * time.Second}
	cfg.EnsureDefaults()
	d := &Daemon{cfg: cfg, log: cfg.Logger, m: &metrics{}, columns: newTypedColumns(nil, 0)}
	if got := d.archiverConfig().ShutdownTimeout; got != 2*time.Second {
		t.Errorf("the embedded archiver's ShutdownTimeout is %v with --shutdown-timeout 2s, want 2s", got)
	}
}
