package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/live"
)

// dropStatuses makes the broker refuse every produce to controls.status (a daemon whose
// status publishing fails or lags): a save then gets no status within its wait.
func dropStatuses(t *testing.T, d *daemon) {
	d.b.RefuseProduces(t, "controls.status", func() bool { return true })
}

// TestSavePendingAnswerBeatsWriteTimeout: a save whose wait_ms reaches past the HTTP
// write timeout, and gets no status, is still answered 202 pending: the wait ends
// before the server would cut the answer off (here a 3s write timeout and wait_ms
// 4000; by default 1m and up to 60000 plus the publish).
func TestSavePendingAnswerBeatsWriteTimeout(t *testing.T) {
	t.Parallel()
	d := startDaemonWith(t, "", func(c *live.Config) {
		c.HTTPWriteTimeout = 3 * time.Second
		c.PreviewTimeout = time.Second
	})
	dropStatuses(t, d)
	body, _ := json.Marshal(map[string]any{"rule": json.RawMessage(loginRule), "wait_ms": 4000})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", d.url("/v1/console/rules"), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("save with wait_ms 4000 got no answer after %v (%d records on controls): %v",
			time.Since(start).Round(time.Millisecond), d.b.TopicRecords(t, "controls"), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("save: %d %s (%v), want 202 pending", resp.StatusCode, data, err)
	}
}

// TestHugeWaitMSIsNotANegativeWait: a wait_ms past the minute allowed is a minute's
// wait, not one overflowed into a negative duration that answers pending at once.
func TestHugeWaitMSIsNotANegativeWait(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	var s console.SaveResponse
	body := map[string]any{"rule": json.RawMessage(loginRule), "wait_ms": int64(9223372036855)}
	if resp := call(t, "POST", d.url("/v1/console/rules"), "", body, &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("save with wait_ms 9223372036855: %d %+v, want 200 ok", resp.StatusCode, s)
	}
}

// TestSavePendingAfterSlowBodyBeatsWriteTimeout: the write timeout runs from the end of
// the request's headers, so a body that takes a while to arrive (well within
// --http-read-timeout) eats into it; the console's bound once started after the body. A save that gets no status must still be answered
// 202 pending before the server cuts the answer off (API.md: "publishing and waiting
// together end a little before the daemon's --http-write-timeout, so that the answer
// (202 pending if no status came) is never cut off").
//
// The write timeout is 6 s: with the 1.5 s the body takes and the console's margin of
// 1 s, the publish (a status client's listing, then the produce) has 3.5 s, which a
// loaded machine needs (with 3 s, 0.5 s: 7 of 22 runs at a load of 16–24 answered 502,
// the publish cut off, or EOF).
func TestSavePendingAfterSlowBodyBeatsWriteTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a slow body past the write timeout (5 s): make test runs it")
	}
	t.Parallel()
	d := startDaemonWith(t, "", func(c *live.Config) {
		c.HTTPWriteTimeout = 6 * time.Second
		c.PreviewTimeout = time.Second
	})
	dropStatuses(t, d)
	body, _ := json.Marshal(map[string]any{"rule": json.RawMessage(loginRule), "wait_ms": 8000})
	pr, pw := io.Pipe()
	go func() {
		// Half the body at once, the rest 1.5s later: a slow client, far inside the
		// 30s read timeout.
		half := len(body) / 2
		pw.Write(body[:half])
		// A pause, not a wait: time is the scenario, a body slow enough to eat into
		// the write timeout that runs from the end of the headers.
		time.Sleep(1500 * time.Millisecond)
		pw.Write(body[half:])
		pw.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", d.url("/v1/console/rules"), pr)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("save with a body sent over 1.5s and wait_ms 8000 got no answer after %v (%d records on controls): %v",
			time.Since(start).Round(time.Millisecond), d.b.TopicRecords(t, "controls"), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("save: %d %s (%v) after %v, want 202 pending", resp.StatusCode, data, err, time.Since(start).Round(time.Millisecond))
	}
}
