package live

import (
	"testing"
	"time"
)

// evaluatorIdle, the archiver's SpareCore: never while a batch is handled, and only
// evaluatorIdleAfter after the last one ended.
func TestEvaluatorIdle(t *testing.T) {
	t.Parallel()
	d := &Daemon{born: time.Now().Add(-time.Hour)}
	if !d.evaluatorIdle() {
		t.Error("a daemon that never had a batch is not idle")
	}
	d.batchesRunning.Add(1)
	if d.evaluatorIdle() {
		t.Error("idle while a batch is handled")
	}
	d.batchDone()
	if d.evaluatorIdle() {
		t.Error("idle just after a batch")
	}
	// A batch that ended evaluatorIdleAfter ago (the clock is time since born).
	d.lastBatch.Store(int64(time.Since(d.born) - evaluatorIdleAfter))
	if !d.evaluatorIdle() {
		t.Errorf("not idle %v after the last batch", evaluatorIdleAfter)
	}
}
