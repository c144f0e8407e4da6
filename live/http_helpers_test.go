package live_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// httpDaemon is a live daemon on a loopback port, with its own metrics registry so that
// tests read the counters without going through the HTTP server they load.
type httpDaemon struct {
	*live.Daemon
	b    *kafkatest.Broker
	reg  *prometheus.Registry
	base string
}

func startHTTPDaemon(t *testing.T, partitions int32, mod func(*live.Config)) *httpDaemon {
	t.Helper()
	return startHTTPDaemonOn(t, kafkatest.Start(t, kafkatest.Options{Partitions: partitions}), mod)
}

func startHTTPDaemonOn(t *testing.T, b *kafkatest.Broker, mod func(*live.Config)) *httpDaemon {
	t.Helper()
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Registry = reg
		if mod != nil {
			mod(c)
		}
	})
	return &httpDaemon{Daemon: d, b: b, reg: reg, base: "http://" + d.HTTPAddr()}
}

// metric is the value of the metric name whose labels include the given name=value
// pairs (0 when there is none).
func (d *httpDaemon) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := d.reg.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// reached is how often the limit name was reached.
func (d *httpDaemon) reached(t *testing.T, name string) float64 {
	t.Helper()
	return d.metric(t, "hindsight_limit_reached_total", "name", name)
}

// request sends method path (with body, when not empty) and returns the answer with its
// body read; mod adjusts the request (headers, Host).
func (d *httpDaemon) request(t *testing.T, method, path, body string, mod func(*http.Request)) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	resp, data := livetest.Request(t, method, d.base+path, rd, func(req *http.Request) {
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if mod != nil {
			mod(req)
		}
	})
	return resp, string(data)
}

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func host(h string) func(*http.Request) {
	return func(r *http.Request) { r.Host = h }
}
