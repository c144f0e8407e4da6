package notify

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkDeliverLoopback is one signed webhook delivery to a loopback receiver that
// answers 200 at once, over a kept-alive connection: the notify stage's own cost per
// alert (body, signature, HTTP round trip), without any network's.
func BenchmarkDeliverLoopback(b *testing.B) {
	// Not a recording receiver: it would grow with b.N, and its allocations count too.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	s := newSender(b, testConfig())
	target := Target{Name: "hook", Type: TypeWebhook, URL: srv.URL, Secret: testSecret}
	a := testAlert()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if out := s.Deliver(ctx, target, a); !out.Delivered {
			b.Fatalf("outcome %+v", out)
		}
	}
}
