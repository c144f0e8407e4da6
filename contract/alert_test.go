package contract_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// FuzzAlertJSON checks the hand-written alert encoder against encoding/json for any
// strings (customer ids are arbitrary Kafka keys).
func FuzzAlertJSON(f *testing.F) {
	for _, s := range []string{"c-1", "", "quote\"back\\slash", "ctl\x00\x01\b\f\n\r\t\x1f", "<a&b>", "\u2028\u2029é😀", "bad\xffutf8\xc3", "*"} {
		f.Add(s, s, int64(3), int64(1700000000123456789))
	}
	f.Fuzz(func(t *testing.T, customer, id string, n int64, nanos int64) {
		a := contract.Alert{AlertID: contract.AlertID("*", id, n, customer, n), RuleID: id, Scope: customer, Version: n,
			Customer: customer, Count: n, Threshold: -n, Partition: int32(n), Offset: n * 7,
			EventTime: time.Unix(0, nanos).UTC(), Source: "live"}
		want, err := json.Marshal(a)
		if err != nil { // int64 nanoseconds span 1677–2262: always encodable
			t.Fatal(err)
		}
		if got := a.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("AppendJSON = %s\nencoding/json %s", got, want)
		}
	})
}
