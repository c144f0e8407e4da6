package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestRepairedIndexOfTransactionsMatchesTheBrokers: a segment's .idx torn to a few
// bytes is rebuilt from its record batches, each entry saying what kfake's own said:
// the batch's epoch, and "in a transaction" for the data batches of a transaction
// only, not for its commit or abort marker (kfake writes a control batch's entry
// without the flag). The log holds a plain record, a committed transaction, an
// aborted one and a plain record again; after the repair a read_committed reader
// still reads exactly the plain and committed records. Found by a mutation hunt:
// flagging control batches too passed every test, no test comparing a rebuilt entry
// of a marker with the broker's.
func TestRepairedIndexOfTransactionsMatchesTheBrokers(t *testing.T) {
	dir := t.TempDir()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1, DataDir: dir})
	rec := func(v string) *kgo.Record { return &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(v)} }
	b.Produce(t, rec("plain-1"))
	tx := b.TxnClient(t, "tx-1", []string{"events"})
	kafkatest.Transact(t, tx, kgo.TryCommit, rec("committed"))
	kafkatest.Transact(t, tx, kgo.TryAbort, rec("aborted"))
	b.Produce(t, rec("plain-2"))
	tx.Close()
	b.Close()

	pdir := filepath.Join(dir, "partitions", "events-0")
	seg, err := os.ReadFile(filepath.Join(pdir, "0.dat"))
	if err != nil {
		t.Fatal(err)
	}
	batches, _ := scanSegment(seg)
	idx := filepath.Join(pdir, "0.idx")
	want, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	// plain, committed data and its marker, aborted data and its marker, plain
	if len(batches) != 6 || len(want) != len(batches)*kfakeIndexEntrySize {
		t.Fatalf("the broker wrote %d record batches and %d bytes of index; want 6 and an entry of %d bytes each", len(batches), len(want), kfakeIndexEntrySize)
	}
	if err := os.Truncate(idx, 3); err != nil { // a torn write of its first entry
		t.Fatal(err)
	}
	repairs := 0
	if err := repairDataDir(dir, false, slog.New(slog.DiscardHandler), func() { repairs++ }); err != nil {
		t.Fatalf("repairing the data directory after its index was torn: %v", err)
	}
	got, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	if repairs != 1 || len(got) != len(want) {
		t.Fatalf("repair counted %d repairs and left %d bytes of index; want 1 and the broker's %d", repairs, len(got), len(want))
	}
	for i := range batches {
		w, g := want[i*kfakeIndexEntrySize:(i+1)*kfakeIndexEntrySize], got[i*kfakeIndexEntrySize:(i+1)*kfakeIndexEntrySize]
		// The timestamp (and so the check byte) may differ: kfake recomputes the running
		// maximum at load, and the rebuilt entry holds the batch's own.
		if !bytes.Equal(g[2:6], w[2:6]) || g[14] != w[14] {
			t.Errorf("index entry %d (batch ending at offset %d): epoch %d, flags %#x; the broker wrote epoch %d, flags %#x",
				i, batches[i].end, int32(binary.LittleEndian.Uint32(g[2:6])), g[14], int32(binary.LittleEndian.Uint32(w[2:6])), w[14])
		}
	}

	b = kafkatest.Start(t, kafkatest.Options{Partitions: 1, DataDir: dir})
	cl := b.Client(t, kgo.ConsumeTopics("events"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(200*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var read []string
	for !slices.Contains(read, "plain-2") && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { read = append(read, string(r.Value)) })
	}
	if want := []string{"plain-1", "committed", "plain-2"}; !slices.Equal(read, want) {
		t.Fatalf("a read_committed reader reads %q after the repair; want %q", read, want)
	}
}
