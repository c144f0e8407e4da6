package console_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestStreamFallingBehindIsCounted: a console stream whose client reads slowly falls
// behind a burst of alerts and is ended by the feed past StreamBacklog alerts; each such
// end reaches LimitStreamBacklog (hindsight_limit_reached_total in the daemon). It was a
// hard-coded 256, reached with nothing counted or logged.
func TestStreamFallingBehindIsCounted(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	url, reached := boundedConsole(t, d, console.Config{StreamBacklog: 16})

	// A client with a small receive buffer, so that the server's writes block soon.
	// (Set before connecting, so that the window is small from the start.)
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	tr := &http.Transport{DialContext: dialer.DialContext}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(url + "/v1/console/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if sc.Text() == "event: rules" {
			break
		}
	}

	// A burst of large alerts while the client does not read.
	const n = 2000
	pad, _ := json.Marshal(strings.Repeat("x", 8<<10))
	var recs []*kgo.Record
	for i := range n {
		a := contract.Alert{AlertID: fmt.Sprintf("burst-%04d", i), RuleID: "r", Scope: "*", Version: 1, Customer: "c-9", Count: 1,
			Threshold: rule.AtLeast(1), EventTime: time.Now().UTC(), Source: "live", Status: contract.StatusFiring,
			Context: map[string]json.RawMessage{"$.pad": pad}}
		v, _ := json.Marshal(a)
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte(a.Customer), Value: v})
	}
	d.b.Produce(t, recs...)
	last := fmt.Sprintf("burst-%04d", n-1)
	poll.Until(t, 60*time.Second, "the feed read the burst", func() bool {
		var got console.AlertsResponse
		call(t, "GET", url+"/v1/console/alerts", "", nil, &got)
		for _, a := range got.Alerts {
			if a.AlertID == last {
				return true
			}
		}
		return false
	})

	// Now read what the stream still sends.
	got, ended := 0, make(chan struct{})
	go func() {
		defer close(ended)
		for sc.Scan() {
			if sc.Text() == "event: alert" {
				got++
			}
		}
	}()
	select {
	case <-ended:
	case <-time.After(20 * time.Second):
		resp.Body.Close()
		<-ended
		t.Fatalf("the stream sent %d of %d alerts and did not end within 20s", got, n)
	}
	if got >= n {
		t.Fatalf("the stream sent all %d alerts: it did not fall behind", got)
	}
	if !slices.Contains(reached(), console.LimitStreamBacklog) {
		t.Errorf("the stream sent %d of %d alerts and ended (it fell more than 16 behind), and %s was not reached: limits reached %q", got, n, console.LimitStreamBacklog, reached())
	}
}
