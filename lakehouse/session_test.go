package lakehouse_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestArchivingResumesWithinSessionTimeout: an archiver process is killed with -9 (it
// cannot leave its group) and another starts in its place. The group gives the dead
// member's partitions away once its session expires: with the archiver's
// SessionTimeout (1s here; `hindsight live` passes --session-timeout) archiving resumes
// within seconds, not after franz-go's default 45s (archiving stalled 47 s to 3
// minutes while /healthz said ok). Meanwhile the new process's
// hindsight_archive_lag_offsets shows the stall, for every partition — owned by nobody
// yet — and drops to 0 once the lake caught up.
func TestArchivingResumesWithinSessionTimeout(t *testing.T) {
	t.Parallel()
	const session = time.Second
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2, MinSessionTimeout: 500 * time.Millisecond})
	bkt, url := openTestBucket(t, "file")
	lake := lakehouse.NewLake(bkt, testLogger())
	h := newHistory(5)
	cl := b.Client(t)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LAKE_CHILD_BROKER="+b.Addr, "LAKE_CHILD_BUCKET="+url,
		"LAKE_CHILD_SESSION_TIMEOUT="+session.String(), "LAKE_CHILD_GROUP=resume")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.produce(t, cl, 400)
	waitArchived(t, lake, h.ends(), 60*time.Second) // the child owns both partitions and works
	_ = cmd.Process.Signal(syscall.SIGKILL)
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended by itself: %v\n%s", err, stderr.String())
	}

	reg := prometheus.NewRegistry()
	cfg := archiverConfig(b, bkt, "resume")
	cfg.SessionTimeout, cfg.Registerer = session, reg
	stop := startArchiver(t, cfg)
	h.produce(t, cl, 400)
	// Bounded far below franz-go's default session (45s) that the dead member would
	// otherwise hold its partitions for, and far above the 1s configured.
	sawLag := false
	if !poll.Within(20*time.Second, func() bool {
		for _, p := range []string{"0", "1"} {
			sawLag = sawLag || promtest.Value(t, reg, "hindsight_archive_lag_offsets", "partition", p) > 0
		}
		snap, err := lake.Snapshot(context.Background())
		done := err == nil
		for p, e := range h.ends() {
			done = done && snap.Watermark(p) >= e
		}
		return done
	}) {
		t.Fatalf("archiving did not resume within 20s of a kill -9 with a %v session timeout", session)
	}
	if !sawLag {
		t.Error("hindsight_archive_lag_offsets never showed the stall")
	}
	// Caught up: the gauges say so for every partition.
	waitGauge := func(name string) {
		t.Helper()
		if !poll.Within(20*time.Second, func() bool {
			return promtest.Value(t, reg, name, "partition", "0") == 0 && promtest.Value(t, reg, name, "partition", "1") == 0
		}) {
			t.Fatalf("%s did not return to 0 after the lake caught up: %v, %v", name,
				promtest.Value(t, reg, name, "partition", "0"), promtest.Value(t, reg, name, "partition", "1"))
		}
	}
	waitGauge("hindsight_archive_lag_offsets")
	waitGauge("hindsight_archive_lag_seconds")
	stopArchivers(t, stop)
}
