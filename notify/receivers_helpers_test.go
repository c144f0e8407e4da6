package notify_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/hindsightdev/hindsight/notify"
)

// keyRecorder starts a receiver that takes every request and records its
// Idempotency-Key in the order the requests came; received returns those so far.
func keyRecorder(t *testing.T) (url string, received func() []string) {
	var mu sync.Mutex
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Header.Get(notify.HeaderIdempotencyKey))
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	return hook.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// slowReceiver starts a receiver that holds every request until free is called (or
// its sender gives up): what makes a stage's reading wait at --notify-max-pending.
func slowReceiver(t *testing.T) (url string, free func()) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	var once sync.Once
	free = func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // runs before slow.Close (cleanups run last first), which waits for held requests
	return slow.URL, free
}
