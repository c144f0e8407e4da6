package notify_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// slowPagerDuty acts as PagerDuty's Events API (a trigger opens its dedup_key's
// incident, a resolve closes it) but is slow to accept each key's first trigger: it
// holds that request until release is closed, and takes it then only if its sender is
// still waiting for the answer (a request whose sender hung up is not accepted). It
// logs what it accepted, in order.
type slowPagerDuty struct {
	srv      *httptest.Server
	mu       sync.Mutex
	triggers map[string]int
	held     int
	open     map[string]bool
	log      []string
}

func newSlowPagerDuty(t *testing.T, release <-chan struct{}) *slowPagerDuty {
	pd := &slowPagerDuty{triggers: map[string]int{}, open: map[string]bool{}}
	pd.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Action string `json:"event_action"`
			Key    string `json:"dedup_key"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		pd.mu.Lock()
		first := false
		if ev.Action == "trigger" {
			pd.triggers[ev.Key]++
			first = pd.triggers[ev.Key] == 1
		}
		if first {
			pd.held++
		}
		pd.mu.Unlock()
		if first {
			select {
			case <-release:
			case <-r.Context().Done():
				pd.mu.Lock()
				pd.held--
				pd.log = append(pd.log, ev.Key+" trigger abandoned by its sender")
				pd.mu.Unlock()
				return
			}
		}
		pd.mu.Lock()
		defer pd.mu.Unlock()
		if first {
			pd.held--
		}
		switch ev.Action {
		case "trigger":
			pd.open[ev.Key] = true
		case "resolve":
			delete(pd.open, ev.Key)
		}
		pd.log = append(pd.log, ev.Key+" "+ev.Action)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(pd.srv.Close)
	return pd
}

func (pd *slowPagerDuty) seen() []string {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return slices.Clone(pd.log)
}

func (pd *slowPagerDuty) count(line string) int {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	n := 0
	for _, l := range pd.log {
		if l == line {
			n++
		}
	}
	return n
}

func (pd *slowPagerDuty) triggered(key string) int {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return pd.triggers[key]
}

func (pd *slowPagerDuty) holding() int {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return pd.held
}

func (pd *slowPagerDuty) opened() []string {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	var out []string
	for k := range pd.open {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestStageInFlightTriggerNotAcceptedAfterNextOwnersResolve: member A's first trigger
// of each alert is on the wire, the receiver slow to accept it, when member B joins
// and takes one of the two partitions. B delivers that partition's trigger and then
// its resolve. A's request, made for a partition no longer A's, must not be accepted
// after B's resolve (docs/notifications.md: "a PagerDuty incident is never opened
// after its resolve"): revoking a partition must cancel, or wait for, the requests
// made for it, before the next owner delivers its alerts again.
func TestStageInFlightTriggerNotAcceptedAfterNextOwnersResolve(t *testing.T) {
	t.Parallel() // own broker and receiver; most of its time is waiting for a rebalance
	b := startBroker(t)
	const topic = "alerts2"
	produce := twoPartitionAlerts(t, b, topic, "pager")
	release := make(chan struct{})
	pd := newSlowPagerDuty(t, release)
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "pager", Type: rule.DestPagerDuty,
		URL: pd.srv.URL + "/v2/enqueue", Secret: &rule.SecretRef{Env: "PD_KEY"}}))...)

	start := func() {
		var topics ingest.Topics
		topics.Alerts = topic
		startMember(t, notify.Config{
			Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-inflight-order", Topics: topics,
			SessionTimeout: 6 * time.Second,
			// An attempt may wait 20s for its answer: longer than B takes to join.
			Sender:         notify.SenderConfig{Timeout: 20 * time.Second, MaxAttempts: 3, MaxElapsed: time.Minute, AllowPrivate: true},
			CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Getenv: pdKey,
		})
	}
	produce("inc", contract.StatusFiring)
	start() // A
	poll.Until(t, 10*time.Second, "A's first triggers held by the receiver", func() bool { return pd.holding() == 2 })
	start() // B: takes one partition and delivers its firing again
	produce("inc", contract.StatusResolved)
	// B's trigger and resolve of the partition it took; should revoking wait for A's
	// held request instead, its attempt's 20s timeout lets the rebalance go on.
	poll.Until(t, 60*time.Second, "the next owner's resolve", func() bool { return pd.count("inc0 resolve")+pd.count("inc1 resolve") >= 1 })
	close(release) // the receiver accepts what is still waiting
	poll.Until(t, 30*time.Second, "both resolves accepted", func() bool { return pd.count("inc0 resolve") >= 1 && pd.count("inc1 resolve") >= 1 })
	poll.Until(t, 10*time.Second, "no request held", func() bool { return pd.holding() == 0 })
	if open := pd.opened(); len(open) > 0 {
		t.Errorf("incidents %v are open after their resolve; the receiver accepted, in order: %q", open, pd.seen())
	}
}
