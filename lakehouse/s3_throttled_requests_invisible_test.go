package lakehouse_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// throttlingS3 relays to an s3test server and answers the first request of every
// method and object with 503 SlowDown, as S3 does under a request rate it sheds.
type throttlingS3 struct {
	backend   string
	seen      sync.Map
	throttled atomic.Int64
}

func (p *throttlingS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, again := p.seen.LoadOrStore(r.Method+" "+r.URL.RequestURI(), true); !again {
		p.throttled.Add(1)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.backend+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
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
	p := &throttlingS3{backend: srv.Addr}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	u, _ := url.Parse(srv.URL())
	q := u.Query()
	q.Set("endpoint", "http://"+ln.Addr().String())
	u.RawQuery = q.Encode()

	lake := lakehouse.NewLake(lakehousetest.OpenBucket(t, srv.URL()), testLogger())
	cfg, reg := meteredArchiverConfig(b, nil, "throttled")
	cfg.BucketURL = u.String()
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
