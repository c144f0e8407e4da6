package livetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatime"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// WindowReplay is the oracle of a rule kept per group and window (not a plain count): it
// evaluates r over history, per partition in offset order from that partition's start
// offset (starts; a partition not in it from its first record), with the evaluator the
// daemon uses, and returns the alert ids it raises and, per customer, its open windows
// at the end as WindowText, sorted.
func WindowReplay(history []*kgo.Record, r *rule.Rule, starts map[int32]int64) (ids map[string]bool, open map[string][]string, err error) {
	return windowReplay(history, r, starts, nil, alertID)
}

// WindowStatusReplay is WindowReplay of every record from each partition's start, its
// alerts keyed "alert_id status": a resolve record shares its firing alert's id.
func WindowStatusReplay(history []*kgo.Record, r *rule.Rule) (ids map[string]bool, err error) {
	ids, _, err = windowReplay(history, r, nil, nil, func(a *contract.Alert) string { return a.AlertID + " " + a.Status })
	return ids, err
}

func alertID(a *contract.Alert) string { return a.AlertID }

// WindowHandoffFirings is WindowHandoffReplay's firing alerts only: the incidents a
// version handed its history opens from each partition's start, which it must publish.
// An incident history opened closes unseen after a hand-off that held its firing back,
// and with a resolve after one that recounts: a test accepts either.
func WindowHandoffFirings(history []*kgo.Record, r *rule.Rule, starts map[int32]int64) (ids map[string]bool, err error) {
	ids, _, err = windowReplay(history, r, nil, starts, func(a *contract.Alert) string {
		if a.Status == contract.StatusResolved {
			return ""
		}
		return a.AlertID
	})
	delete(ids, "")
	return ids, err
}

// WindowHandoffReplay is WindowReplay of a rule handed its history: it evaluates all of
// history, and returns the alert ids of the crossings at offsets from each partition's
// start (those before are history's, not sent).
func WindowHandoffReplay(history []*kgo.Record, r *rule.Rule, starts map[int32]int64) (ids map[string]bool, open map[string][]string, err error) {
	return windowReplay(history, r, nil, starts, alertID)
}

func windowReplay(history []*kgo.Record, r *rule.Rule, starts, alertsFrom map[int32]int64, key func(*contract.Alert) string) (ids map[string]bool, open map[string][]string, err error) {
	byPart := map[int32][]*kgo.Record{}
	for _, rec := range history {
		if start, ok := starts[rec.Partition]; !ok || rec.Offset >= start {
			byPart[rec.Partition] = append(byPart[rec.Partition], rec)
		}
	}
	ids, open = map[string]bool{}, map[string][]string{}
	doc := jsonpath.NewDocument()
	for _, recs := range byPart {
		slices.SortFunc(recs, func(a, b *kgo.Record) int { return cmp.Compare(a.Offset, b.Offset) })
		st := window.New(r, window.Limits{})
		for _, rec := range recs {
			customer := string(rec.Key)
			if !r.AppliesTo(customer) {
				continue
			}
			if _, err := verdict.Accept(doc, rec.Key, rec.Value); err != nil || !r.Matches(doc) {
				continue
			}
			at := kafkatime.Of(rec)
			st.Add(&window.Event{Customer: customer, Doc: doc, Time: at, Offset: rec.Offset}, func(c window.Crossing) {
				a, aerr := window.Alert(r, c, rec.Partition, rec.Offset, at, contract.SourceLive)
				if aerr != nil && err == nil {
					err = fmt.Errorf("rule %s: %w", r.Key(), aerr)
				}
				if from, ok := alertsFrom[rec.Partition]; !ok || rec.Offset >= from {
					ids[key(&a)] = true
				}
			})
		}
		for _, w := range st.Windows("") {
			g, gerr := window.GroupJSON(r.GroupBy, w.Group)
			if gerr != nil {
				return nil, nil, fmt.Errorf("rule %s: %w", r.Key(), gerr)
			}
			open[w.Customer] = append(open[w.Customer], WindowText(contract.WindowValue{Group: g, WindowStart: w.StartTime(), Count: w.Count, Alerted: w.Fired}))
		}
	}
	for c := range open {
		slices.Sort(open[c])
	}
	return ids, open, err
}

// WindowText is one open window as tests compare them: group, start, count and whether
// it alerted.
func WindowText(w contract.WindowValue) string {
	keys := make([]string, 0, len(w.Group))
	for k, v := range w.Group {
		keys = append(keys, k+"="+string(v))
	}
	slices.Sort(keys)
	at := "running"
	if w.WindowStart != nil {
		at = w.WindowStart.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%s@%s:%d:%v", strings.Join(keys, ","), at, w.Count, w.Alerted)
}

// OpenWindows is, per customer, the open windows of counts (a /v1/counts listing) as
// WindowText, sorted.
func OpenWindows(counts []contract.CountView) map[string][]string {
	out := map[string][]string{}
	for _, c := range counts {
		for _, w := range c.Windows {
			out[c.Customer] = append(out[c.Customer], WindowText(w))
		}
	}
	for c := range out {
		slices.Sort(out[c])
	}
	return out
}

// CheckOpenWindows reports, on t, every customer whose open windows (as OpenWindows
// lists them) differ between have, the daemon's, and want, the replay's, for what
// (a rule's name), and returns how many windows want holds.
func CheckOpenWindows(t testing.TB, what string, have, want map[string][]string) (windows int) {
	t.Helper()
	for c, w := range want {
		windows += len(w)
		if g, w := strings.Join(have[c], " "), strings.Join(w, " "); g != w {
			t.Errorf("%s, customer %s: open windows\n%s\nreplay\n%s", what, c, g, w)
		}
	}
	if len(have) != len(want) {
		t.Errorf("%s: %d customers with open windows, replay %d", what, len(have), len(want))
	}
	return windows
}
