package live_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestReadyzFailsOverMaxArchiveLag: the lake's storage refuses every write, so the
// embedded archiver trails Kafka by one record per event produced. At --max-archive-lag
// (5 records behind) the process is still ready; one record more and /readyz answers
// 503 naming the lag, the partition and the flag, and max_archive_lag_records is
// counted reached once however often it is probed. When the storage takes writes again
// the archiver catches up and /readyz is ready. The lag is the real archiver's gauge;
// the two counts straddle the limit so that a check off by one either way fails here.
func TestReadyzFailsOverMaxArchiveLag(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a lake outage and the archiver's retries: make test runs it")
	}
	t.Parallel()
	const maxLag = 5
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	s3 := s3test.Start(t, "lake")
	var refuseWrites atomic.Bool
	proxy := s3.StartFaultyProxy(t, func(w http.ResponseWriter, r *http.Request) bool {
		// Reads pass, so the lag loop still finds the manifest and measures.
		if refuseWrites.Load() && r.Method != http.MethodGet && r.Method != http.MethodHead {
			s3test.WriteError(w, http.StatusInternalServerError, "InternalError")
			return true
		}
		return false
	})
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive = proxy.URL(), false
		// Snapshots elsewhere: the outage is the lake's alone.
		c.StateURL = "file://" + t.TempDir()
		c.ArchiveRollAge = 50 * time.Millisecond
		c.ArchiveLagInterval = 50 * time.Millisecond
		c.MaxArchiveLag = maxLag
	})
	// Registered after the daemon's cleanup, so it runs first: a failed test's stop
	// flushes to a lake that takes writes again.
	t.Cleanup(func() { refuseWrites.Store(false) })
	base := "http://" + d.HTTPAddr()
	readyz := func() (int, contract.Readiness) {
		var rd contract.Readiness
		code := livetest.GetJSON(t, base+"/readyz", &rd)
		return code, rd
	}
	lagOf := func(rd contract.Readiness) int64 {
		if rd.ArchiveLagRecords == nil {
			return -1
		}
		return *rd.ArchiveLagRecords
	}
	// waitLag polls /readyz until the archiver has measured want records behind.
	waitLag := func(want int64) (int, contract.Readiness) {
		t.Helper()
		var code int
		var rd contract.Readiness
		poll.Until(t, 30*time.Second, fmt.Sprintf("/readyz showing an archive lag of %d", want), func() bool {
			code, rd = readyz()
			return lagOf(rd) == want
		})
		return code, rd
	}
	reached := func() string {
		return metricLine(livetest.GetText(t, base+"/metrics"), `hindsight_limit_reached_total{name="max_archive_lag_records"}`)
	}

	poll.Until(t, 30*time.Second, "/readyz ready with the archive lag measured", func() bool {
		code, rd := readyz()
		return code == http.StatusOK && rd.Ready && lagOf(rd) == 0
	})
	if got, want := metricLine(livetest.GetText(t, base+"/metrics"), `hindsight_limit{name="max_archive_lag_records"}`), fmt.Sprintf(`hindsight_limit{name="max_archive_lag_records"} %d`, maxLag); got != want {
		t.Errorf("/metrics: %s, want %s", got, want)
	}

	refuseWrites.Store(true)
	for i := range maxLag {
		b.Produce(t, livetest.Event("c-1", fmt.Sprintf(`{"seq":%d}`, i)))
	}
	if code, rd := waitLag(maxLag); code != http.StatusOK || !rd.Ready {
		t.Errorf("/readyz with the archive %d records behind, at --max-archive-lag %d: %d ready=%v reasons %q; want 200, ready (the limit is not exceeded)", maxLag, maxLag, code, rd.Ready, rd.Reasons)
	}
	if got, want := reached(), `hindsight_limit_reached_total{name="max_archive_lag_records"} 0`; got != want {
		t.Errorf("archive lag at the limit: %s, want %s", got, want)
	}

	b.Produce(t, livetest.Event("c-1", fmt.Sprintf(`{"seq":%d}`, maxLag)))
	code, rd := waitLag(maxLag + 1)
	wantReason := fmt.Sprintf("the archive trails Kafka by %d records on partition 0, over --max-archive-lag %d", maxLag+1, maxLag)
	if code != http.StatusServiceUnavailable || rd.Ready || rd.Status != contract.ProcessNotReady {
		t.Errorf("/readyz with the archive %d records behind, over --max-archive-lag %d: %d ready=%v status=%q; want 503, not ready, %q", maxLag+1, maxLag, code, rd.Ready, rd.Status, contract.ProcessNotReady)
	}
	if len(rd.Reasons) != 1 || !strings.HasPrefix(rd.Reasons[0], wantReason) {
		t.Errorf("/readyz reasons %q; want one starting %q", rd.Reasons, wantReason)
	}
	for range readyzProbes {
		if code, rd := readyz(); code != http.StatusServiceUnavailable || lagOf(rd) != maxLag+1 {
			t.Fatalf("/readyz while the lake refuses writes: %d, lag %d; want 503, lag %d", code, lagOf(rd), maxLag+1)
		}
	}
	if got, want := reached(), `hindsight_limit_reached_total{name="max_archive_lag_records"} 1`; got != want {
		t.Errorf("after %d probes of one archive lag over the limit: %s, want %s", readyzProbes+1, got, want)
	}

	refuseWrites.Store(false)
	poll.Until(t, 60*time.Second, "/readyz ready again once the archiver caught up", func() bool {
		code, rd = readyz()
		return code == http.StatusOK && rd.Ready && lagOf(rd) == 0
	})
	if got, want := reached(), `hindsight_limit_reached_total{name="max_archive_lag_records"} 1`; got != want {
		t.Errorf("after the archiver caught up: %s, want %s", got, want)
	}
}
