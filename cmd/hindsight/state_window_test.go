package main

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// harnessWindowRules are the crash harness's rules kept per group and window, over the
// workload's fields: every aggregate, tumbling and hopping windows, a running total,
// record and payload event times, and one whose event time ($.session.duration_ms, as
// epoch milliseconds) is random, so that about half its events are late. They are
// published before any event, so that every partition counts them from offset 0 and
// every run has the same state (docs/architecture.md, "Windowed rules").
var harnessWindowRules = []string{
	`{"id":"w-fail-country","scope":"*","when":{"path":"$.outcome","op":"==","value":"failure"},
	  "group_by":["$.actor.geo.country"],"window":{"size":"4s","every":"2s"},"threshold":5}`,
	`{"id":"w-bytes-target","scope":"*","when":{"path":"$.type"},"group_by":["$.target.type"],
	  "aggregate":{"fn":"sum","path":"$.bytes"},"window":{"size":"10s"},"time":"$.time","threshold":{"op":">","value":2e8}}`,
	`{"id":"w-countries-chaos","scope":"*","when":{"path":"$.type"},"aggregate":{"fn":"count_distinct","path":"$.actor.geo.country"},
	  "window":{"size":"10m","every":"5m"},"time":"$.session.duration_ms","lateness":"30m","threshold":4}`,
	`{"id":"w-max-risk","scope":"*","when":{"path":"$.risk.score","op":">","value":50},"group_by":["$.client.app"],
	  "aggregate":{"fn":"max","path":"$.risk.score"},"threshold":99.5}`,
	`{"id":"w-severity","scope":"*","when":{"path":"$.type"},"group_by":["$.actor.roles[0]","$.geo"],
	  "aggregate":{"fn":"avg","path":"$.severity"},"window":{"size":"3s"},"threshold":{"op":"<","value":1.5}}`,
	`{"id":"w-min-duration","scope":"c-0001","when":{"path":"$.type"},"aggregate":{"fn":"min","path":"$.session.duration_ms"},
	  "window":{"size":"5s","every":"1s"},"threshold":{"op":"<=","value":50000}}`,
}

// windowed reports whether r is kept per group and window (not a plain count).
func windowed(r *rule.Rule) bool { return !r.Plain() }

// harnessMidWindowRule is published half-way through the stream: it is handed its
// history (docs/architecture.md, "Windowed rules"), across the harness's crashes, so its
// open windows are a replay of all history's and its alerts those from its start.
const harnessMidWindowRule = `{"id":"w-mid-fail-app","scope":"*","when":{"path":"$.outcome","op":"==","value":"failure"},
  "group_by":["$.client.app"],"window":{"size":"6s","every":"2s"},"time":"$.time","lateness":"1s","threshold":6}`

// publishMidWindowRule publishes harnessMidWindowRule. It runs on the stream's
// goroutine, so it reports failure with t.Errorf and false.
func (s *stateScenario) publishMidWindowRule() bool {
	r, err := rule.ParseRule([]byte(harnessMidWindowRule))
	if err != nil {
		s.t.Errorf("harness rule: %v", err)
		return false
	}
	rec := s.remember(r)
	if rec == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		s.t.Errorf("publishing %s: %v", r.Key(), err)
		return false
	}
	return true
}

// publishWindowRules publishes harnessWindowRules; false after t.Errorf.
func (s *stateScenario) publishWindowRules() bool {
	var recs []*kgo.Record
	for _, js := range harnessWindowRules {
		r, err := rule.ParseRule([]byte(js))
		if err != nil {
			s.t.Errorf("harness rule: %v", err)
			return false
		}
		rec := s.remember(r)
		if rec == nil {
			return false
		}
		recs = append(recs, rec)
	}
	s.b.Produce(s.t, recs...)
	return true
}

// checkWindows compares every windowed rule's open windows, read from the processes'
// /v1/counts, with windowReplay's, and returns the alert ids the replays raise.
func (s *stateScenario) checkWindows(procs ...*liveProc) (ids map[string]bool, windows int) {
	t := s.t
	ids = map[string]bool{}
	for _, r := range s.rules {
		if !windowed(r) {
			continue
		}
		// Handed their history, the rules end with a replay of all of it; their alerts
		// are those from their start in each partition (0 for the rules published
		// before any event).
		starts := map[int32]int64{}
		for _, p := range procs {
			for _, v := range p.rules(t) {
				if v.Scope == r.Scope && v.ID == r.ID {
					maps.Copy(starts, v.StartOffsets)
				}
			}
		}
		want, open, err := livetest.WindowHandoffReplay(s.history, r, starts)
		if err != nil {
			t.Fatal(err)
		}
		for id := range want {
			ids[id] = true
		}
		var counts []contract.CountView
		for _, p := range procs {
			for _, c := range p.counts(t, r) {
				if c.WindowsTotal > len(c.Windows) {
					t.Fatalf("rule %s, customer %s: %d windows, more than one page lists", r.Key(), c.Customer, c.WindowsTotal)
				}
				counts = append(counts, c)
			}
		}
		got := livetest.OpenWindows(counts)
		for _, c := range slices.Sorted(maps.Keys(mergeKeys(open, got))) {
			windows += len(open[c])
			if g, w := strings.Join(got[c], " "), strings.Join(open[c], " "); g != w {
				t.Errorf("rule %s, customer %s: open windows\n%s\nreplay\n%s", r.Key(), c, g, w)
			}
		}
	}
	return ids, windows
}

// rules is the process's /v1/rules listing.
func (p *liveProc) rules(t *testing.T) []contract.RuleView {
	t.Helper()
	var list contract.RuleList
	if code := livetest.GetJSON(t, "http://"+p.http+"/v1/rules", &list); code != 200 {
		t.Fatalf("/v1/rules: HTTP %d", code)
	}
	return list.Rules
}

// mergeKeys is the union of a's and b's keys.
func mergeKeys(a, b map[string][]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
