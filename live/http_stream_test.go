package live_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

type sseEvent struct{ name, data string }

// openStream opens the console's stream and returns its events as they come (the
// channel closes when the stream ends) and the function that closes it.
func openStream(t *testing.T, d *httpDaemon) (<-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", d.base+"/v1/console/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		resp.Body.Close()
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	events := make(chan sseEvent, 100)
	go func() {
		defer close(events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return events, cancel
}

// nextEvent waits for the stream's next event named name whose data contains want.
func nextEvent(t *testing.T, events <-chan sseEvent, name, want string) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended before an event %q containing %q", name, want)
			}
			if ev.name == name && strings.Contains(ev.data, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no event %q containing %q within %v", name, want, wait)
		}
	}
}

// TestConsoleStreamsOutliveTimeoutsAndAreCapped: a console stream keeps delivering
// after the server's read and write timeouts (meant for one request) have long passed;
// one stream more than --http-max-streams is answered 503, and a slot freed by a closed
// stream serves again; hindsight_http_streams_open counts the streams served.
func TestConsoleStreamsOutliveTimeoutsAndAreCapped(t *testing.T) {
	if testing.Short() {
		t.Skip("waits past the HTTP timeouts (4 s): make test runs it")
	}
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) {
		c.HTTPMaxStreams = 2
		c.HTTPReadTimeout = 300 * time.Millisecond
		c.HTTPWriteTimeout = 300 * time.Millisecond
		c.PreviewTimeout = 200 * time.Millisecond
	})
	first, closeFirst := openStream(t, d)
	defer closeFirst()
	nextEvent(t, first, "rules", `"rules":[]`)
	second, closeSecond := openStream(t, d)
	defer closeSecond()
	nextEvent(t, second, "rules", `"rules":[]`)

	resp, body := d.request(t, "GET", "/v1/console/stream", "", nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "--http-max-streams") {
		t.Errorf("a third stream: %d (Retry-After %q) %s, want 503 naming --http-max-streams", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if n := d.reached(t, "http_max_streams"); n != 1 {
		t.Errorf("stream cap reached %v times, want 1", n)
	}
	// The gauge counts the two streams served, not the one refused.
	if n := d.metric(t, "hindsight_http_streams_open"); n != 2 {
		t.Errorf("hindsight_http_streams_open = %v with two streams open and a third refused, want 2", n)
	}

	// Well past both timeouts, a new rule still reaches the open stream. A timer is
	// the scenario: the read and write deadlines net/http set for the stream's request
	// pass only with time, and nothing the daemon shows marks their passing; the rule
	// reaching the stream afterwards is what is checked.
	time.Sleep(5 * 300 * time.Millisecond)
	r := livetest.ParseRule(t, `{"id":"late","scope":"*","when":{"path":"$.type"},"threshold":5}`)
	d.b.Produce(t, livetest.Upsert(t, r))
	nextEvent(t, first, "rules", `"id":"late"`)

	closeSecond()
	poll.Until(t, wait, "a freed stream slot to serve a new stream", func() bool {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", d.base+"/v1/console/stream", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	closeFirst()
	poll.Until(t, wait, "the gauge of open streams to fall to 0 with every stream closed", func() bool {
		return d.metric(t, "hindsight_http_streams_open") == 0
	})
}
