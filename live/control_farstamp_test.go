package live_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestFarStampedControlKeepsRulesListing: a control record's timestamp is the
// producer's to set, any int64 of milliseconds (franz-go's reader, and kafkatime.Of,
// recover those past 2262). One stamped past the year 9999 (here 12000) becomes a
// rejected control's time, or a rule version's updated_at, which encoding/json cannot
// write: /v1/rules answered 200 with an empty body, for every rule, for as long as the
// record was held (the newest --max-rejected-controls, or the rule's life). The fold
// takes such a time at the bound, 9999-12-31T23:59:59.999Z (controls.RecordTime).
func TestFarStampedControlKeepsRulesListing(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, nil)
	far := time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	r := livetest.ParseRule(t, `{"id":"ok","scope":"*","when":{"path":"$.type"},"threshold":3}`)
	up, err := rule.Upsert(r).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	produceRaw(t, d.b, "controls", 0,
		rawRecord{Key: "*/far", Value: "not json", TsMs: far},
		rawRecord{Key: "*/ok", Value: string(up), TsMs: far})
	poll.Until(t, 10*time.Second, "rule active", func() bool { _, ok := d.Registry().Version(r.Key()); return ok })

	resp, body := d.request(t, "GET", "/v1/rules", "", nil)
	var l contract.RuleList
	if err := json.Unmarshal([]byte(body), &l); err != nil || len(l.Rules) != 1 || len(l.Invalid) != 1 {
		t.Errorf("GET /v1/rules after controls stamped in the year 12000: %d %q (%v); want the rule and the rejected control in JSON", resp.StatusCode, body, err)
	}
}
