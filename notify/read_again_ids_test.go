package notify

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// TestFiringsReadAgainFreedByResolveAndRevoke: the ids a partition's reading again
// keeps (tracker.readAgain) take room under --notify-max-open-firings until the resolve
// of each is read or the partition goes: a revoked partition's ids freed no room, the
// bound filled by partitions long gone and every later reading again counting the
// limit reached and keeping nothing.
func TestFiringsReadAgainFreedByResolveAndRevoke(t *testing.T) {
	reached := 0
	o := newOpenFirings(2, func() { reached++ }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	lookBack := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	before := lookBack.Add(-time.Hour)
	within := lookBack.Add(time.Minute)
	a, b := &tracker{lookBack: lookBack}, &tracker{lookBack: lookBack}

	o.noteReadAgain(a, "a1", &before)
	o.noteReadAgain(a, "a1", &before) // read twice: one id
	o.noteReadAgain(a, "a2", &within) // its window within the look-back: not kept
	o.noteReadAgain(a, "a3", nil)     // no window: not kept
	o.noteReadAgain(b, "b1", &before)
	o.noteReadAgain(b, "b2", &before) // past the bound
	if o.readAgain != 2 || len(a.readAgain) != 1 || len(b.readAgain) != 1 || reached != 1 {
		t.Fatalf("after noting: %d ids kept (a %d, b %d), limit reached %d times; want 2 (1, 1), 1", o.readAgain, len(a.readAgain), len(b.readAgain), reached)
	}
	if _, again := o.recall(a, "a1"); !again {
		t.Error("the resolve of a1: not taken as that of a firing read again")
	}
	if _, again := o.recall(a, "a1"); again {
		t.Error("a second resolve of a1: taken as that of a firing read again, its id kept")
	}
	o.drop([]*tracker{b})
	if o.readAgain != 0 {
		t.Fatalf("after a1's resolve and b's revoke: %d ids kept, want 0", o.readAgain)
	}
	c := &tracker{lookBack: lookBack}
	o.noteReadAgain(c, "c1", &before)
	o.noteReadAgain(c, "c2", &before)
	o.noteReadAgain(b, "b3", &before) // b is gone: nothing kept of it
	if o.readAgain != 2 || len(c.readAgain) != 2 || len(b.readAgain) != 0 || reached != 1 {
		t.Errorf("the partition assigned after: %d ids kept (c %d, the revoked b %d), limit reached %d times; want 2 (2, 0), 1", o.readAgain, len(c.readAgain), len(b.readAgain), reached)
	}
}
