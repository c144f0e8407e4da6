package backtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestBacktestCountsEvalCutShort: a rule path that runs out of jsonpath's work budget
// on an event misses it in a backtest as in live; the report says how many
// evaluations were cut short (eval_cut_short), as PartitionState does for a hand-off's
// history (a review found them silent).
func TestBacktestCountsEvalCutShort(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	const depth, width = 990, 100_000
	deep := `{"x":` + strings.Repeat(`{"a":`, depth) + "[0" + strings.Repeat(",0", width-1) + "]" + strings.Repeat(`}`, depth) + `,"y":{"a":{"b":1}}}`
	recs := b.Produce(t, &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"y":{"a":{"b":1}}}`)},
		&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(deep)})
	lake, _ := livetest.Archive(t, b, recs)
	for _, js := range []string{
		`{"id":"plain","scope":"*","version":1,"when":{"path":"$..a..b"},"threshold":1}`,
		`{"id":"windowed","scope":"*","version":1,"when":{"path":"$..a..b"},"window":{"size":"1h"},"threshold":1}`,
	} {
		r, err := rule.ParseRule([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := backtest.Run(context.Background(), backtest.Config{Lake: lake, Rules: []*rule.Rule{r}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Events != 2 || rep.Rules[0].Matches != 1 || rep.EvalCutShort != 1 {
			t.Errorf("%s: %d events, %d matches, eval_cut_short %d; want 2, 1 and 1", r.ID, rep.Events, rep.Rules[0].Matches, rep.EvalCutShort)
		}
		h, err := backtest.PartitionState(context.Background(), backtest.Config{Lake: lake}, r, 0, 2, func(int64, time.Time, window.Crossing) {})
		if err != nil {
			t.Fatal(err)
		}
		if h.Matches != 1 || h.EvalCutShort != 1 {
			t.Errorf("%s: PartitionState: %d matches, %d cut short; want 1 and 1", r.ID, h.Matches, h.EvalCutShort)
		}
	}
}
