package ingest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// TestEmbeddedGroupsLogTornTailLosesLaterCommits: a torn last write in the data
// directory's groups.log (the file cut a few bytes short while the broker was stopped)
// is discarded at the next start, as it should be. But the commits acknowledged in the
// run after that must survive the next kill -9: the broker appends them after the torn
// bytes, and reading the log stops at the first bad entry, so every one of them is
// dropped again at the following start and the group falls back to its old offset.
func TestEmbeddedGroupsLogTornTailLosesLaterCommits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: 1, DataDir: dir}
	cfg.EnsureDefaults()
	cfg.Logger = nil // the child's own default: a logger does not pass through JSON
	const group = "hindsight-live"

	commit := func(addr string, offset int64) {
		t.Helper()
		kc := KafkaConfig{Brokers: []string{addr}}
		kc.EnsureDefaults()
		cl, err := kc.NewClient()
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var offs kadm.Offsets
		offs.Add(kadm.Offset{Topic: cfg.Topics.Events, Partition: 0, At: offset, LeaderEpoch: -1})
		resp, err := kadm.NewClient(cl).CommitOffsets(ctx, group, offs)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Fatalf("committing %d: %v", offset, err)
		}
	}
	committed := func(addr string) int64 {
		t.Helper()
		kc := KafkaConfig{Brokers: []string{addr}}
		kc.EnsureDefaults()
		cl, err := kc.NewClient()
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
		if err != nil {
			t.Fatalf("fetching the group's offsets: %v", err)
		}
		o, ok := resp.Lookup(cfg.Topics.Events, 0)
		if !ok {
			return -1
		}
		if o.Err != nil {
			t.Fatalf("fetching the group's offset: %v", o.Err)
		}
		return o.At
	}

	// Run 1: two commits, then kill -9.
	b := startBrokerChild(t, cfg)
	commit(b.addr, 10)
	commit(b.addr, 20)
	b.kill(t)

	// The last write torn: groups.log cut 3 bytes short.
	path := filepath.Join(dir, "groups.log")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-3); err != nil {
		t.Fatal(err)
	}

	// Run 2: the torn commit (20) is dropped, the one before it kept; a new commit
	// is acknowledged and read back, then kill -9.
	b = startBrokerChild(t, cfg)
	if got := committed(b.addr); got != 10 {
		t.Logf("after the torn tail the group's offset is %d (the commit before the torn one was 10)", got)
	}
	commit(b.addr, 30)
	if got := committed(b.addr); got != 30 {
		t.Fatalf("run 2 reads back %d right after committing 30", got)
	}
	b.kill(t)

	// Run 3: the commit acknowledged in run 2 must be there.
	b = startBrokerChild(t, cfg)
	if got := committed(b.addr); got != 30 {
		t.Fatalf("after a restart the group's committed offset is %d; want 30, acknowledged in the run after the torn groups.log tail\nbroker log:\n%s", got, b.stderr)
	}
	b.kill(t)
}
