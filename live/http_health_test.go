package live_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// readyz fetches /readyz.
func readyz(t *testing.T, d *httpDaemon) (int, contract.Readiness) {
	t.Helper()
	resp, body := d.request(t, "GET", "/readyz", "", nil)
	var rd contract.Readiness
	if err := json.Unmarshal([]byte(body), &rd); err != nil {
		t.Fatalf("/readyz %d %s: %v", resp.StatusCode, body, err)
	}
	if (resp.StatusCode == 200) != rd.Ready || rd.Ready != (len(rd.Reasons) == 0) {
		t.Fatalf("/readyz %d says %s", resp.StatusCode, body)
	}
	return resp.StatusCode, rd
}

func partitionState(t *testing.T, d *httpDaemon, id int32) contract.PartitionState {
	t.Helper()
	var st contract.StateView
	if code := livetest.GetJSON(t, d.base+"/v1/state", &st); code != 200 {
		t.Fatalf("/v1/state: %d", code)
	}
	for _, p := range st.Partitions {
		if p.Partition == id {
			return p
		}
	}
	return contract.PartitionState{Partition: -1}
}

// TestReadyzFollowsSnapshots: /readyz is 200 once the daemon consumes, and 503 naming
// the partition while its changed state cannot be snapshotted for longer than
// --max-snapshot-age; /v1/state lists the problem; /healthz (liveness) answers 200
// throughout; once storage works again, the daemon is ready again.
func TestReadyzFollowsSnapshots(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	d := startHTTPDaemon(t, 1, func(c *live.Config) {
		c.StateURL = "file://" + state
		c.SnapshotInterval = 100 * time.Millisecond
		c.MaxSnapshotAge = 500 * time.Millisecond
	})
	poll.Until(t, wait, "/readyz 200", func() bool {
		code, rd := readyz(t, d)
		return code == 200 && rd.Broker == "reachable" && len(rd.Partitions) == 1
	})

	// Snapshots fail: where their directory goes, a file is in the way.
	if err := os.RemoveAll(filepath.Join(state, "state")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "state"), []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.b.Produce(t, ev("c-1", downloaded))
	waitSeen(t, d.Daemon, 1)
	var rd contract.Readiness
	poll.Until(t, wait, "/readyz 503 for the partition's snapshots", func() bool {
		var code int
		code, rd = readyz(t, d)
		return code == 503
	})
	if len(rd.Reasons) != 1 || !strings.Contains(rd.Reasons[0], "partition 0") || !strings.Contains(rd.Reasons[0], "--max-snapshot-age") ||
		!strings.Contains(rd.Reasons[0], "snapshots fail") {
		t.Errorf("reasons %q, want partition 0's snapshots", rd.Reasons)
	}
	p := partitionState(t, d, 0)
	if joined := strings.Join(p.Problems, " | "); !strings.Contains(joined, "the latest snapshot could not be stored") || !strings.Contains(joined, "--max-snapshot-age") {
		t.Errorf("/v1/state problems %q", p.Problems)
	}
	var health map[string]any
	if code := livetest.GetJSON(t, d.base+"/healthz", &health); code != 200 || health["status"] != "ok" {
		t.Errorf("/healthz while not ready: %d %v, want 200: the process is alive", code, health)
	}
	if n := d.reached(t, "max_snapshot_age_seconds"); n < 1 {
		t.Errorf("max_snapshot_age_seconds reached %v times", n)
	}

	if err := os.Remove(filepath.Join(state, "state")); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, wait, "/readyz 200 once snapshots are stored again", func() bool {
		code, _ := readyz(t, d)
		return code == 200
	})
	if p := partitionState(t, d, 0); len(p.Problems) != 0 || p.LastSnapshot == nil {
		t.Errorf("after recovery: problems %q, last snapshot %v", p.Problems, p.LastSnapshot)
	}
}

// TestStateReportsUnreadableSnapshots: when every stored snapshot of a partition is
// corrupt, the restarted daemon recounts it and /v1/state says so.
func TestStateReportsUnreadableSnapshots(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	state := t.TempDir()
	group := func(c *live.Config) { c.Group, c.StateURL = "unreadable", "file://"+state }
	first, stop := livetest.StartLive(t, b, group)
	b.Produce(t, ev("c-1", downloaded), ev("c-2", downloaded))
	waitSeen(t, first, 2)
	stop() // the shutdown snapshots the partition
	<-first.Done()
	var snaps []string
	err := filepath.WalkDir(filepath.Join(state, "state"), func(path string, e os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".snap") {
			snaps = append(snaps, path)
			err = os.WriteFile(path, []byte("HSPS not a snapshot any more"), 0o644)
		}
		return err
	})
	if err != nil || len(snaps) == 0 {
		t.Fatalf("snapshots %v: %v", snaps, err)
	}

	d := startHTTPDaemonOn(t, b, func(c *live.Config) {
		group(c)
		c.SnapshotInterval, c.MaxSnapshotAge = time.Hour, 2*time.Hour // the problem stays in view
	})
	var p contract.PartitionState
	poll.Until(t, wait, "partition 0 in /v1/state", func() bool {
		p = partitionState(t, d, 0)
		return p.Partition == 0
	})
	if len(p.Problems) != 1 || !strings.Contains(p.Problems[0], "no stored snapshot of this partition could be read") ||
		!strings.Contains(p.Problems[0], "without backfill its history was not recounted") { // no backfill here
		t.Errorf("problems %q", p.Problems)
	}
}

// TestReadyzSeesTheBrokersGo: with the brokers down, /readyz is 503 and says so; when
// they are back, 200.
func TestReadyzSeesTheBrokersGo(t *testing.T) {
	t.Parallel()
	opts := kafkatest.Options{Partitions: 1, DataDir: t.TempDir(), Port: kafkatest.ListenPort(t)}
	b, err := kafkatest.StartBroker(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() }) // after the daemon's cleanup, registered later
	d := startHTTPDaemonOn(t, b, func(c *live.Config) { c.ShutdownTimeout = 3 * time.Second })
	poll.Until(t, wait, "/readyz 200", func() bool {
		code, _ := readyz(t, d)
		return code == 200
	})
	b.Close()
	var rd contract.Readiness
	poll.Until(t, wait, "/readyz 503 without brokers", func() bool {
		var code int
		code, rd = readyz(t, d)
		return code == 503 && rd.Broker != "reachable"
	})
	found := false
	for _, r := range rd.Reasons {
		found = found || strings.Contains(r, "the brokers are unreachable")
	}
	if !found {
		t.Errorf("reasons %q do not name the brokers", rd.Reasons)
	}
	if b, err = kafkatest.StartBroker(opts); err != nil {
		t.Fatalf("restarting the broker: %v", err)
	}
	poll.Until(t, 60*time.Second, "/readyz 200 with the brokers back", func() bool {
		code, _ := readyz(t, d)
		return code == 200
	})
}
