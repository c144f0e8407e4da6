package lakehouse

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"
)

// StorageMetrics counts what an s3:// bucket's requests meet, attempt by attempt
// (StorageConfig.Metrics). The S3 client retries a failed request itself, three
// times in all, before its caller sees an error: hindsight_lake_storage_errors_total,
// which counts the operations left failing after that, never moved while a store
// shed the archiver's load (503 SlowDown) and every request cost the client's backoff
// (TestThrottledStorageRequestsAreCounted).
type StorageMetrics struct {
	attemptErrors *prometheus.CounterVec
}

// NewStorageMetrics makes the families; register Collectors once per registry.
func NewStorageMetrics() *StorageMetrics {
	return &StorageMetrics{attemptErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hindsight", Subsystem: "lake", Name: "storage_attempt_errors_total",
		Help: "Attempts of object storage requests (s3:// buckets) that failed, each counted, whether the S3 client then retried them or not: by HTTP method and status (a 5xx or 429 answer; timeout, abandoned for making no progress; transport, no answer). hindsight_lake_storage_errors_total counts the operations still failing after the client's attempts.",
	}, []string{"method", "status"})}
}

// Collectors are the families, for a registry.
func (m *StorageMetrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.attemptErrors}
}

// attemptCounter is the HTTP client of an s3:// bucket, outermost: each request it
// does is one attempt of the S3 client's.
type attemptCounter struct {
	next aws.HTTPClient
	m    *StorageMetrics
}

func (c *attemptCounter) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(req)
	switch {
	case err != nil && req.Context().Err() != nil:
		// Its caller gave up on it (a commit attempt's bound, a shutdown): not the store's.
	case errors.Is(err, ErrStorageTimeout):
		c.m.attemptErrors.WithLabelValues(req.Method, "timeout").Inc()
	case err != nil:
		c.m.attemptErrors.WithLabelValues(req.Method, "transport").Inc()
	case err == nil && (resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests):
		c.m.attemptErrors.WithLabelValues(req.Method, strconv.Itoa(resp.StatusCode)).Inc()
	}
	return resp, err
}
