package live_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// A rule's lookback counts back from its control record's timestamp. A record written
// without one (Kafka's -1) was read as 1969-12-31T23:59:59.999Z, so that a rule of
// lookback 24h counted every event in history: the control is refused, its problem on
// lookback, and a rule without a lookback written so is applied as ever.
func TestControlWithoutTimestampCannotAnchorALookback(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	const lookback = `{"op":"upsert","rule":{"id":"day","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"x"},"threshold":5,"lookback":"24h"}}`
	const plain = `{"op":"upsert","rule":{"id":"ever","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"x"},"threshold":5}}`
	produceRaw(t, b, "controls", 0, rawRecord{Key: "*/day", Value: lookback, TsMs: -1}, rawRecord{Key: "*/ever", Value: plain, TsMs: -1})

	poll.Until(t, 10*time.Second, "both controls folded", func() bool {
		l := d.RuleList()
		return len(l.Invalid)+len(l.Rules) >= 2
	})
	l := d.RuleList()
	if len(l.Rules) != 1 || l.Rules[0].Rule.ID != "ever" {
		t.Errorf("active rules %+v: want only \"ever\", the rule without a lookback", l.Rules)
	}
	if len(l.Invalid) != 1 || l.Invalid[0].Key != "*/day" || len(l.Invalid[0].Problems) != 1 ||
		l.Invalid[0].Problems[0].Field != "lookback" || !strings.Contains(l.Invalid[0].Error, "has none (Kafka's -1)") {
		t.Errorf("rejected controls %+v: want */day refused, its problem on lookback", l.Invalid)
	}
}
