package lakehouse_test

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// throttlingS3 answers the first request of every method and object with 503
// SlowDown, as S3 does under a request rate it sheds. Its hook is a FaultyProxy's.
type throttlingS3 struct {
	seen      sync.Map
	throttled atomic.Int64
}

func (p *throttlingS3) hook(w http.ResponseWriter, r *http.Request) bool {
	if _, again := p.seen.LoadOrStore(r.Method+" "+r.URL.RequestURI(), true); again {
		return false
	}
	p.throttled.Add(1)
	s3test.WriteError(w, http.StatusServiceUnavailable, "SlowDown")
	return true
}

// TestThrottledStorageRequestsAreCounted: the store throttles (503 SlowDown) the first
// request of each method and URI (the first upload of each file and manifest among
// them); the S3 client retries each after its own backoff, and the archive completes.
// Yet
// hindsight_lake_storage_errors_total, the archiver's only count of storage failures,
// stayed 0 and nothing was logged: it counts only the failures left after the S3
// client's three attempts, so an operator never sees the store shedding the
// archiver's load (each throttled request costing the client's backoff) until it
// fails outright. Each failed attempt is now counted in
// hindsight_lake_storage_attempt_errors_total.
func TestThrottledStorageRequestsAreCounted(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	srv := s3test.Start(t, "lake")
	p := &throttlingS3{}
	proxy := srv.StartFaultyProxy(t, p.hook)

	lake := lakehouse.NewLake(lakehousetest.OpenBucket(t, srv.URL()), testLogger())
	cfg, reg := meteredArchiverConfig(b, nil, "throttled")
	cfg.BucketURL = proxy.URL()
	h, snap := archiveEvents(t, b, lake, cfg, 99, 300)
	checkExactlyOnce(t, lake, snap, h)
	if p.throttled.Load() == 0 {
		t.Fatal("nothing throttled")
	}
	// Counted per attempt in a family of its own: hindsight_lake_storage_errors_total
	// counts operations still failing once the client gave up, by operation, and
	// counting attempts there too would count a failed operation's attempts and the
	// operation itself alike.
	if got := promtest.Value(t, reg, "hindsight_lake_storage_attempt_errors_total", "status", "503"); got <= 0 { // -1: no such series
		t.Errorf("the store throttled %d requests (503 SlowDown), yet hindsight_lake_storage_attempt_errors_total{status=\"503\"} = %v (all statuses: %v)",
			p.throttled.Load(), got, promtest.Sum(t, reg, "hindsight_lake_storage_attempt_errors_total"))
	}
}
