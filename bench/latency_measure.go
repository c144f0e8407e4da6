package bench

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// measurement holds send and receive times indexed by event sequence number.
type measurement struct {
	sent []atomic.Int64 // unix nanos when handed to the producer; 0 = not sent
	// received marks the probes whose alert came: a second record of one (a producer's
	// retry) is not a second receipt, or it would stand in for another probe's alert
	// lost, and the run report every alert delivered.
	received  []bool
	latency   []time.Duration
	sentStep  []int32 // by latency's index: the sampleStep its probe was sent in
	firstSeq  int     // first measured sequence number (after warmup)
	lastSeq   int     // one past the last sent
	every     int     // probe period
	produceEr atomic.Int64
	sendTime  time.Duration
	// sentAt and recvAt count events sent and probe alerts received per sampleStep.
	sentAt, recvAt []int64
	// use is what the machine did per sampleStep (latency_steps.go).
	use []stepUse
	// The webhook probes (latency_webhook.go): every hookEvery-th probe (0: none),
	// timed at the webhook receiver and, for comparison, on the alerts topic.
	hookEvery int
	// hookLat and hookTopicLat are the webhook probes' latencies by sequence number.
	hookLat, hookTopicLat map[int]time.Duration
}

// bucket is the sampleStep of an instant since t0, within n buckets.
func bucket(t0, t time.Time, n int) int { return max(0, min(n-1, int(t.Sub(t0)/sampleStep))) }

// probes counts the probes among sequence numbers [from, to).
func (m *measurement) probes(from, to int) int {
	if to <= from {
		return 0
	}
	below := func(n int) int { return (n + m.every - 1) / m.every } // probes in [0, n)
	return below(to) - below(from)
}

// fill computes the figures of the measurement into f. A measurement that timed no
// probe (none among the measured events, or none of their alerts received) is an
// error: its quantiles would read as 0 ms, a target met by nothing measured.
func (m *measurement) fill(f *LatencyFigures) error {
	f.Sent = m.lastSeq - m.firstSeq
	f.Probes = m.probes(m.firstSeq, m.lastSeq)
	f.ProduceErr = int(m.produceEr.Load())
	lat := slices.Clone(m.latency)
	f.Received = len(lat)
	f.Missing = f.Probes - f.Received
	f.Achieved = float64(f.Sent) / m.sendTime.Seconds()
	perS := func(counts []int64) []float64 {
		last := len(counts)
		for last > 0 && counts[last-1] == 0 {
			last--
		}
		out := make([]float64, last)
		for i, n := range counts[:last] {
			out[i] = float64(n) / sampleStep.Seconds()
		}
		return out
	}
	f.SentPerS, f.ReceivedPerS = perS(m.sentAt), perS(m.recvAt)
	if len(lat) == 0 {
		return fmt.Errorf("bench: no latency measured: %d events sent in the measured span, %d of them probes (--probe-every %d), %d probe alerts received",
			f.Sent, f.Probes, m.every, f.Received)
	}
	m.fillTail(f)
	f.Worst = tailSteps(f.MaxBySend, m.use, worstSteps)
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	f.P50, f.P90, f.P99, f.P999, f.Max = q(0.50), q(0.90), q(0.99), q(0.999), lat[len(lat)-1]
	// From the median on, ten points a decade of 1/(1-q): 50%, 60%, 68%… 99.99%.
	for k := 3; k <= 40; k++ {
		p := 1 - math.Pow(10, -float64(k)/10)
		if k == 3 {
			p = 0.5
		}
		if (1-p)*float64(len(lat)) < 1 {
			break
		}
		f.Quantiles = append(f.Quantiles, Quantile{Q: p, Ms: float64(q(p)) / 1e6})
	}
	f.Quantiles = append(f.Quantiles, Quantile{Q: 1, Ms: float64(f.Max) / 1e6})
	return nil
}

// fillTail says when the slowest probes were sent: the slowest probe per sampleStep,
// and how the slowest 1% spread over the steps. A tail that bunches into a few steps
// is a pause (collection, a snapshot, an archive flush); one spread over most steps
// is queueing behind a busy core.
func (m *measurement) fillTail(f *LatencyFigures) {
	last := slices.Max(m.sentStep)
	f.MaxBySend = make([]float64, last+1)
	for i, d := range m.latency {
		s := m.sentStep[i]
		f.MaxBySend[s] = max(f.MaxBySend[s], float64(d)/1e6)
	}
	order := make([]int, len(m.latency))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(m.latency[b], m.latency[a]) })
	tail := order[:max(1, len(order)/100)]
	perStep := map[int32]int{}
	for _, i := range tail {
		perStep[m.sentStep[i]]++
	}
	counts := slices.Collect(maps.Values(perStep))
	slices.Sort(counts)
	slices.Reverse(counts)
	f.TailSteps, f.TailEvents = len(counts), len(tail)
	for _, c := range counts[:min(5, len(counts))] {
		f.TailInWorst5 += c
	}
	for _, x := range f.MaxBySend {
		if x > 0 {
			f.MeasuredSteps++
		}
	}
}

// measure sends the events at cfg.Rate (see eventSender) and times the probes'
// alerts, read from the alerts topic by their key: prefix, a dash and the event's
// sequence number.
// child is the broker child, whose CPU is sampled (nil: none).
func measure(ctx context.Context, cfg LatencyConfig, prefix, run string, hook *hookReceiver, child *brokerChild) (*measurement, error) {
	total := int(float64(cfg.Rate) * (cfg.Warmup + cfg.Duration).Seconds())
	m := &measurement{sent: make([]atomic.Int64, total), received: make([]bool, total), firstSeq: int(float64(cfg.Rate) * cfg.Warmup.Seconds()), every: cfg.ProbeEvery}
	if hook != nil {
		m.hookEvery = cfg.WebhookEvery
		m.hookLat, m.hookTopicLat = map[int]time.Duration{}, map[int]time.Duration{}
	}
	m.latency = make([]time.Duration, 0, total-m.firstSeq)
	m.sentStep = make([]int32, 0, total-m.firstSeq)
	buckets := int((cfg.Warmup+cfg.Duration+cfg.Drain)/sampleStep) + 2
	m.sentAt, m.recvAt, m.use = make([]int64, buckets), make([]int64, buckets), make([]stepUse, buckets)
	prefix += "-"
	var t0 time.Time // set before the first event is sent, read by the receiver after

	// Position the alerts consumer at the current end before sending anything.
	recv, err := alertsConsumer(ctx, cfg.Kafka)
	if err != nil {
		return nil, err
	}
	defer recv.Close()
	send, err := newEventSender(cfg, prefix, run, &m.produceEr)
	if err != nil {
		return nil, err
	}
	defer send.close()
	send.hookEvery = m.hookEvery

	var (
		mu       sync.Mutex
		allIn    = make(chan struct{})
		sendDone bool // under mu: lastSeq is final
		allInSet bool // under mu: allIn is closed
	)
	// checkAllIn closes allIn once sending is over and every probe's alert (and
	// webhook) is in. It runs, under mu, wherever the last one may arrive: in the
	// receiver, in the webhook sink, and where sending ends, since the receiver blocks
	// in its poll once nothing more comes.
	checkAllIn := func() {
		if sendDone && !allInSet && len(m.latency) >= m.probes(m.firstSeq, m.lastSeq) && len(m.hookLat) >= m.hookProbes(m.firstSeq, m.lastSeq) {
			close(allIn)
			allInSet = true
		}
	}
	if hook != nil {
		hook.setSink(func(customer []byte, at time.Time) {
			seq, ok := hookSeq(prefix, customer)
			if !ok || seq < m.firstSeq || seq >= len(m.sent) {
				return
			}
			if t := m.sent[seq].Load(); t != 0 {
				mu.Lock()
				if _, dup := m.hookLat[seq]; !dup { // a redelivery is not a second receipt
					m.hookLat[seq] = at.Sub(time.Unix(0, t))
				}
				checkAllIn()
				mu.Unlock()
			}
		})
		defer hook.setSink(nil)
	}
	rctx, stopRecv := context.WithCancel(ctx)
	defer stopRecv()
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			fs := recv.PollFetches(rctx)
			now := time.Now()
			if rctx.Err() != nil || fs.IsClientClosed() {
				return
			}
			mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				// The alert's key is its customer: this run's prefix and the event's number.
				if !bytes.HasPrefix(r.Key, []byte(prefix)) || isHookAlert(r.Value) {
					return
				}
				seq, err := strconv.Atoi(string(r.Key[len(prefix):]))
				if err != nil || seq < 0 || seq >= len(m.sent) || m.received[seq] {
					return
				}
				m.received[seq] = true
				m.recvAt[bucket(t0, now, buckets)]++
				if seq < m.firstSeq {
					return
				}
				if t := m.sent[seq].Load(); t != 0 {
					m.latency = append(m.latency, now.Sub(time.Unix(0, t)))
					m.sentStep = append(m.sentStep, int32(bucket(t0, time.Unix(0, t), buckets)))
					if m.isHookProbe(seq) {
						m.hookTopicLat[seq] = now.Sub(time.Unix(0, t))
					}
				}
			})
			checkAllIn()
			mu.Unlock()
		}
	})

	mu.Lock()
	t0 = time.Now()
	mu.Unlock()
	sampler := newStepSampler(t0, m.use, child)
	wg.Go(func() { sampler.run(rctx) })
	seq := 0
	var lastReport time.Time
	for seq < total && ctx.Err() == nil {
		now := time.Now()
		due := min(total, int(now.Sub(t0).Seconds()*float64(cfg.Rate)))
		m.sentAt[bucket(t0, now, buckets)] += int64(max(0, due-seq))
		for ; seq < due; seq++ {
			send.event(ctx, seq, &m.sent[seq])
		}
		if cfg.Progress != nil && time.Since(lastReport) >= time.Second {
			lastReport = time.Now()
			mu.Lock()
			n := len(m.latency)
			mu.Unlock()
			fmt.Fprintf(cfg.Progress, "  %5.1fs sent %d, measured alerts %d\n", time.Since(t0).Seconds(), seq, n)
		}
		time.Sleep(200 * time.Microsecond)
	}
	m.sendTime = time.Since(t0) - cfg.Warmup
	mu.Lock()
	m.lastSeq = seq
	sendDone = true
	checkAllIn()
	mu.Unlock()
	select {
	case <-allIn:
	case <-time.After(cfg.Drain):
	case <-ctx.Done():
	}
	// Every probe is in, but events sent after the last one may still be on their way:
	// closing the producer would fail them, and count them as produce errors.
	fctx, cancel := context.WithTimeout(ctx, cfg.Drain)
	_ = send.prod.Flush(fctx) // what it leaves undelivered counts as produce errors
	cancel()
	stopRecv()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m, nil
}
