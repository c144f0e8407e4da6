package contract_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// TestAlertAppendJSONOfAnOutOfRangeTime: AppendJSON writes an alert "exactly as
// encoding/json would"; for an event_time outside years 0000..9999 encoding/json refuses
// (Time.MarshalJSON: year outside of range), while AppendJSON writes text such as
// "10000-01-01T00:30:00Z" or "-0001-12-31T23:59:00Z" that no reader takes back
// (notify's sonic decode skips such a record as "not an alert"). `rules test --json`
// prints such alerts (record_time 9999-12-31T23:30:00-01:00). Either AppendJSON's
// output reads back, or the alert is refused where it is made.
func TestAlertAppendJSONOfAnOutOfRangeTime(t *testing.T) {
	for _, at := range []time.Time{time.Date(10000, 1, 1, 0, 30, 0, 0, time.UTC), time.Date(-1, 12, 31, 23, 59, 0, 0, time.UTC)} {
		a := contract.Alert{AlertID: "x", RuleID: "r", Scope: "*", Version: 1, Customer: "c", Count: 1, EventTime: at, Status: contract.StatusFiring}
		b := a.AppendJSON(nil)
		_, merr := json.Marshal(&a)
		var back contract.Alert
		if uerr := json.Unmarshal(b, &back); uerr != nil {
			t.Errorf("event_time %d-...: AppendJSON wrote %s, which does not read back (%v); encoding/json: %v", at.Year(), b, uerr, merr)
		}
	}
}

// TestAlertJSONTimeIsTheNearestBound: an alert's time outside the years 0000 to 9999 is
// written at the bound the lake stores it at; one whose year only its zone puts
// outside is written in UTC; others as they are.
func TestAlertJSONTimeIsTheNearestBound(t *testing.T) {
	plus := time.FixedZone("+01:00", 3600)
	for _, c := range []struct{ at, want time.Time }{
		{time.Date(10000, 1, 1, 0, 30, 0, 0, time.UTC), contract.MaxJSONTime},
		{time.Date(2999, 6, 1, 0, 30, 0, 0, time.UTC).AddDate(1e6, 0, 0), contract.MaxJSONTime},
		{time.Date(-1, 12, 31, 23, 59, 0, 0, time.UTC), contract.MinJSONTime},
		{time.Date(9999, 12, 31, 23, 30, 0, 0, time.UTC).In(plus), time.Date(9999, 12, 31, 23, 30, 0, 0, time.UTC)},
		{time.Date(2026, 1, 2, 3, 4, 5, 6e6, plus), time.Date(2026, 1, 2, 3, 4, 5, 6e6, plus)},
	} {
		a := contract.Alert{AlertID: "x", EventTime: c.at, Status: contract.StatusFiring}
		var back contract.Alert
		if err := json.Unmarshal(a.AppendJSON(nil), &back); err != nil || !back.EventTime.Equal(c.want) {
			t.Errorf("event_time %s: read back %s (%v), want %s", c.at.Format(time.RFC3339Nano), back.EventTime.Format(time.RFC3339Nano), err, c.want.Format(time.RFC3339Nano))
		}
	}
}
