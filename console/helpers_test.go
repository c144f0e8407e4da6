package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// daemon is a live daemon with the archiver and hand-off backfill on, whose console
// tests talk to over real HTTP on loopback.
type daemon struct {
	*live.Daemon
	b    *kafkatest.Broker
	lake string
	stop context.CancelFunc
}

func (d *daemon) url(path string) string { return "http://" + d.HTTPAddr() + path }

func startDaemon(t *testing.T, token string) *daemon {
	t.Helper()
	return startDaemonWith(t, token, nil)
}

// startDaemonWith is startDaemon with mod adjusting the daemon's configuration last.
func startDaemonWith(t *testing.T, token string, mod func(*live.Config)) *daemon {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	lake := "file://" + t.TempDir()
	cache := t.TempDir()
	d, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive, c.NoBackfill = lake, false, false
		c.ArchiveRollAge = 100 * time.Millisecond
		c.BackfillCacheDir = cache
		c.BackfillMinBackoff = 50 * time.Millisecond
		c.APIToken = token
		// Bounds the daemon's wait for in-flight records at shutdown; it has been seen
		// waiting the whole default 10s for a partition snapshot (a daemon issue).
		c.ShutdownTimeout = 3 * time.Second
		if mod != nil {
			mod(c)
		}
	})
	return &daemon{Daemon: d, b: b, lake: lake, stop: stop}
}

// waitLake waits until the lake holds n events.
func (d *daemon) waitLake(t *testing.T, n int64) {
	t.Helper()
	l, err := lakehouse.OpenLake(context.Background(), d.lake, lakehouse.StorageConfig{Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var rows int64
	poll.Until(t, 30*time.Second, fmt.Sprintf("%d events in the lake", n), func() bool {
		s, err := l.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		rows = s.Stats().Rows
		if rows > n {
			t.Fatalf("the lake holds %d events, want %d", rows, n)
		}
		return rows == n
	})
}

// event is one test event and what the oracles need to know of it.
type event struct {
	customer string
	typ      string
	roles    []string
	at       time.Time
}

func (e event) json() string {
	roles, _ := json.Marshal(e.roles)
	return fmt.Sprintf(`{"type":%q,"actor":{"roles":%s},"customer":%q}`, e.typ, roles, e.customer)
}

func (e event) record() *kgo.Record {
	return &kgo.Record{Topic: "events", Key: []byte(e.customer), Value: []byte(e.json()), Timestamp: e.at}
}

func produce(t *testing.T, b *kafkatest.Broker, evs []event) {
	t.Helper()
	recs := make([]*kgo.Record, len(evs))
	for i, e := range evs {
		recs[i] = e.record()
	}
	b.Produce(t, recs...)
}

// call sends a request with an optional bearer token and JSON body, decodes the JSON
// answer into out (when not nil) and returns the response (body consumed).
func call(t *testing.T, method, url, token string, body, out any) *http.Response {
	t.Helper()
	return callWith(t, method, url, token, body, out, nil)
}

func callWith(t *testing.T, method, url, token string, body, out any, mod func(*http.Request)) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	resp, data := livetest.Request(t, method, url, rd, func(req *http.Request) {
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if mod != nil {
			mod(req)
		}
	})
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: answer %d %q is not the JSON expected: %v", method, url, resp.StatusCode, data, err)
		}
	}
	return resp
}

// draft is a request body of validate, preview and save.
func draft(ruleJSON string) map[string]any {
	return map[string]any{"rule": json.RawMessage(ruleJSON)}
}
