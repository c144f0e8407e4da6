package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/rule"
)

// The webhook half of the latency benchmark: every WebhookEvery-th probe also carries
// "hook":true, which a second rule alerts on and notifies a loopback receiver of,
// through the daemon's notify stage. The receiver times each alert from its probe's
// send, as the alerts consumer does, so that the two latencies come from the same
// events in the same run.

// hookMarker starts a webhook probe's JSON, after the probe's own marker.
const hookMarker = `"hook":true,`

// hookRule alerts on this run's webhook probes and notifies the run's destination.
func hookRule(run string) *rule.Rule {
	js := fmt.Sprintf(`{"id":"bench-hook-%s","scope":"*","when":{"all":[{"path":"$.bench","op":"==","value":%q},{"path":"$.hook","op":"==","value":true}]},`+
		`"threshold":1,"alert":{"notify":["bench-hook-%s"]}}`, run, run, run)
	r, err := rule.ParseRule([]byte(js))
	if err != nil {
		panic("bench: built-in rule invalid: " + err.Error())
	}
	return r
}

// isHookAlert reports whether an alerts record is the hook rule's (not timed on the
// topic: its probe's alert of the main rule is).
func isHookAlert(value []byte) bool { return bytes.Contains(value, []byte(`"rule_id":"bench-hook-`)) }

func publishHookDestination(ctx context.Context, kc ingest.KafkaConfig, run, url string) error {
	d := &rule.Destination{Scope: rule.GlobalScope, Name: "bench-hook-" + run, Type: rule.DestWebhook, URL: url}
	_, err := ingest.PublishControls(ctx, kc, ingest.Topics{}, []*rule.Control{rule.UpsertDestination(d)})
	return err
}

// hookReceiver is the loopback webhook receiver: it hands each alert's customer (the
// probe's key) and receipt time to its sink.
type hookReceiver struct {
	url string
	srv *http.Server
	wg  sync.WaitGroup

	mu   sync.Mutex
	sink func(customer []byte, at time.Time)
}

func startHookReceiver() (*hookReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: webhook receiver: %w", err)
	}
	h := &hookReceiver{url: "http://" + ln.Addr().String() + "/hook"}
	h.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		now := time.Now()
		const field = `"customer":"`
		if i := bytes.Index(body, []byte(field)); i >= 0 {
			rest := body[i+len(field):]
			if j := bytes.IndexByte(rest, '"'); j >= 0 {
				h.mu.Lock()
				if h.sink != nil {
					h.sink(rest[:j], now)
				}
				h.mu.Unlock()
			}
		}
	})}
	h.wg.Go(func() { _ = h.srv.Serve(ln) })
	return h, nil
}

// setSink directs the receipts to sink (nil: dropped).
func (h *hookReceiver) setSink(sink func(customer []byte, at time.Time)) {
	h.mu.Lock()
	h.sink = sink
	h.mu.Unlock()
}

func (h *hookReceiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
	h.wg.Wait()
}

// WebhookFigures are the webhook probes' figures: ingest → webhook receipt, and the
// same probes' ingest → alerts topic, measured in one run.
type WebhookFigures struct {
	Probes, Received int
	P50, P99, Max    time.Duration
	// TopicP50 and TopicP99 are the same probes' alerts on the alerts topic.
	TopicP50, TopicP99 time.Duration
	// DeltaP50 and DeltaP99 are quantiles of each probe's webhook receipt less its
	// alert's arrival on the topic: what delivery adds to one alert.
	DeltaP50, DeltaP99 time.Duration
	Quantiles          []Quantile
}

// Overhead is the p99 of what delivery adds to an alert's arrival on the topic.
func (w *WebhookFigures) Overhead() time.Duration { return w.DeltaP99 }

// fillWebhook computes the webhook probes' figures.
func (m *measurement) fillWebhook() *WebhookFigures {
	w := &WebhookFigures{Probes: m.hookProbes(m.firstSeq, m.lastSeq), Received: len(m.hookLat)}
	if len(m.hookLat) == 0 {
		return w
	}
	var lat, topic, delta []time.Duration
	for seq, l := range m.hookLat {
		lat = append(lat, l)
		if tl, ok := m.hookTopicLat[seq]; ok {
			delta = append(delta, l-tl)
		}
	}
	for _, l := range m.hookTopicLat {
		topic = append(topic, l)
	}
	slices.Sort(lat)
	slices.Sort(topic)
	slices.Sort(delta)
	q := func(l []time.Duration, p float64) time.Duration {
		if len(l) == 0 {
			return 0
		}
		return l[min(len(l)-1, int(p*float64(len(l))))]
	}
	w.P50, w.P99, w.Max = q(lat, 0.5), q(lat, 0.99), lat[len(lat)-1]
	w.TopicP50, w.TopicP99 = q(topic, 0.5), q(topic, 0.99)
	w.DeltaP50, w.DeltaP99 = q(delta, 0.5), q(delta, 0.99)
	for _, p := range []float64{0.5, 0.9, 0.99, 0.999} {
		if (1-p)*float64(len(lat)) >= 1 {
			w.Quantiles = append(w.Quantiles, Quantile{Q: p, Ms: float64(q(lat, p)) / 1e6})
		}
	}
	w.Quantiles = append(w.Quantiles, Quantile{Q: 1, Ms: float64(w.Max) / 1e6})
	return w
}

// hookProbes counts the webhook probes among sequence numbers [from, to).
func (m *measurement) hookProbes(from, to int) int {
	if m.hookEvery <= 0 || to <= from {
		return 0
	}
	every := m.every * m.hookEvery
	below := func(n int) int { return (n + every - 1) / every }
	return below(to) - below(from)
}

// isHookProbe reports whether seq is a webhook probe.
func (m *measurement) isHookProbe(seq int) bool {
	return m.hookEvery > 0 && seq%(m.every*m.hookEvery) == 0
}

// hookSeq parses a probe's key into its sequence number.
func hookSeq(prefix string, customer []byte) (int, bool) {
	if !bytes.HasPrefix(customer, []byte(prefix)) {
		return 0, false
	}
	n, err := strconv.Atoi(string(customer[len(prefix):]))
	return n, err == nil
}
