package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/e2etest"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// harnessWindowRules are the crash harness's rules kept per group and window, over the
// workload's fields: every aggregate, tumbling and hopping windows, a running total,
// record and payload event times, and one whose event time ($.session.duration_ms, as
// epoch milliseconds) is random, so that about half its events are late. They are
// published before any event: such rules are not backfilled yet, so only a start at
// offset 0 gives every run the same state (docs/architecture.md, "Windowed rules").
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
	e2etest.ProduceSync(s.t, s.b, recs...)
	return true
}

// windowReplay evaluates r over the whole history, per partition in offset order,
// with the evaluator live uses: the alert ids it raises and each customer's open
// windows at the end, as text.
func (s *stateScenario) windowReplay(r *rule.Rule) (ids map[string]bool, open map[string][]string) {
	byPart := map[int32][]*kgo.Record{}
	for _, rec := range s.history {
		byPart[rec.Partition] = append(byPart[rec.Partition], rec)
	}
	ids, open = map[string]bool{}, map[string][]string{}
	doc := jsonpath.NewDocument()
	for _, recs := range byPart {
		slices.SortFunc(recs, func(a, b *kgo.Record) int { return cmp.Compare(a.Offset, b.Offset) })
		st := window.New(r, window.Limits{})
		for _, rec := range recs {
			customer := string(rec.Key)
			if !r.AppliesTo(customer) || doc.Reset(rec.Value) != nil || !r.Matches(doc) {
				continue
			}
			st.Add(&window.Event{Customer: customer, Doc: doc, Time: rec.Timestamp}, func(c window.Crossing) {
				a, err := window.Alert(r, c, rec.Partition, rec.Offset, rec.Timestamp, contract.SourceLive)
				if err != nil {
					s.t.Fatalf("rule %s: %v", r.Key(), err)
				}
				ids[a.AlertID] = true
			})
		}
		for _, w := range st.Windows("") {
			g, err := window.GroupJSON(r.GroupBy, w.Group)
			if err != nil {
				s.t.Fatalf("rule %s: %v", r.Key(), err)
			}
			open[w.Customer] = append(open[w.Customer], windowText(g, w.StartTime(), w.Count, w.Fired))
		}
	}
	for c := range open {
		slices.Sort(open[c])
	}
	return ids, open
}

// windowText is one open window as the harness compares it: group, start, count and
// whether it alerted.
func windowText(group map[string]json.RawMessage, start *time.Time, count int64, alerted bool) string {
	keys := make([]string, 0, len(group))
	for k, v := range group {
		keys = append(keys, k+"="+string(v))
	}
	slices.Sort(keys)
	at := "running"
	if start != nil {
		at = start.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%s@%s:%d:%v", strings.Join(keys, ","), at, count, alerted)
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
		want, open := s.windowReplay(r)
		for id := range want {
			ids[id] = true
		}
		got := map[string][]string{}
		for _, p := range procs {
			for _, c := range p.counts(t, r) {
				if c.WindowsTotal > len(c.Windows) {
					t.Fatalf("rule %s, customer %s: %d windows, more than one page lists", r.Key(), c.Customer, c.WindowsTotal)
				}
				for _, w := range c.Windows {
					got[c.Customer] = append(got[c.Customer], windowText(w.Group, w.WindowStart, w.Count, w.Alerted))
				}
			}
		}
		for c := range got {
			slices.Sort(got[c])
		}
		for _, c := range slices.Sorted(func(yield func(string) bool) {
			for c := range open {
				if !yield(c) {
					return
				}
			}
			for c := range got {
				if _, ok := open[c]; !ok && !yield(c) {
					return
				}
			}
		}) {
			windows += len(open[c])
			if g, w := strings.Join(got[c], " "), strings.Join(open[c], " "); g != w {
				t.Errorf("rule %s, customer %s: open windows\n%s\nreplay\n%s", r.Key(), c, g, w)
			}
		}
	}
	return ids, windows
}
