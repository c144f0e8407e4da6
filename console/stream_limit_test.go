package console_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
)

// TestStreamsUpToTheirLimit: MaxStreams streams may be open at once, not one fewer;
// the next is refused 503 with Retry-After, its message names the flag, and the limit
// is reported reached.
func TestStreamsUpToTheirLimit(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	url, reached := boundedConsole(t, d, console.Config{MaxStreams: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, "GET", url+"/v1/console/stream", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for i := range 2 {
		if resp := open(); resp.StatusCode != 200 {
			t.Fatalf("stream %d of a limit of 2: %d, want 200", i+1, resp.StatusCode)
		}
	}
	var e contract.ErrorResponse
	resp := call(t, "GET", url+"/v1/console/stream", "", nil, &e)
	want := fmt.Sprintf("too many live streams: %d are open, the limit (--http-max-streams); close another console tab or retry later", 2)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || e.Error != want {
		t.Errorf("a third stream: %d, Retry-After %q, %q; want 503 %q", resp.StatusCode, resp.Header.Get("Retry-After"), e.Error, want)
	}
	if got := reached(); !slices.Equal(got, []string{console.LimitStreams}) {
		t.Errorf("limits reported %v, want [%s]", got, console.LimitStreams)
	}
}
