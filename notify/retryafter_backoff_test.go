package notify

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// TestBackoffKeepsDoublingAfterARetryAfter: docs/notifications.md, Retries: "Backoff:
// 200 ms after the first failure, doubling each time up to 10 s, each wait randomised
// by ±50%", and a Retry-After on 429 or 503 "is waited instead of the backoff". So a
// Retry-After replaces one wait; it does not start the doubling over. Here (initial
// backoff 100ms) the receiver answers 500, 503 with Retry-After: 1, 500, 500, then 200:
// the third failure's wait must be 400ms ±50% and the fourth's 800ms ±50%.
func TestBackoffKeepsDoublingAfterARetryAfter(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits out backoffs (2 s): make test runs it")
	}
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 0, 2, 3:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.Write([]byte("ok"))
		}
	})
	var (
		mu    sync.Mutex
		waits []time.Duration
	)
	cfg := testConfig()
	cfg.MaxAttempts, cfg.MaxElapsed = 6, 30*time.Second
	cfg.InitialBackoff, cfg.MaxBackoff = 100*time.Millisecond, 10*time.Second
	cfg.OnAttempt = func(_ Target, _ *contract.Alert, _ int, _ string, wait time.Duration) {
		mu.Lock()
		waits = append(waits, wait)
		mu.Unlock()
	}
	s := newSender(t, cfg)
	out := s.Deliver(context.Background(), Target{Name: "hook", Type: TypeWebhook, URL: rc.srv.URL + secretPath, Secret: testSecret}, testAlert())
	if !out.Delivered || out.Attempts != 5 {
		t.Fatalf("outcome %+v, want delivered after 5 attempts", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 4 {
		t.Fatalf("waits %v, want 4", waits)
	}
	within := func(d, nominal time.Duration) bool { return d >= nominal/2 && d <= nominal*3/2 }
	if !within(waits[0], 100*time.Millisecond) || waits[1] != time.Second {
		t.Errorf("waits %v: want 100ms±50%%, then the Retry-After's 1s", waits)
	}
	if !within(waits[2], 400*time.Millisecond) || !within(waits[3], 800*time.Millisecond) {
		t.Errorf("waits after the Retry-After %v, want 400ms±50%% then 800ms±50%% (the backoff doubling on from 100ms, 200ms): the Retry-After restarted the backoff at its initial interval (all waits %v)", waits[2:], waits)
	}
}
