package console_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
)

// TestPreviewCustomersTotalCountsThoseCut: a preview lists at most 100 customers, most
// matches first then by name, and customers_total counts every customer with matches,
// those cut from the list included: with 101 such customers the list holds 100 and the
// total says 101, so that a caller learns one is missing. Examples stop at 20.
func TestPreviewCustomersTotalCountsThoseCut(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	const customers = 101
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	var evs []event
	for i := range customers {
		n := 1
		if i == 50 {
			n = 3 // c-050 matches most, and reaches the threshold of 3
		}
		for j := range n {
			evs = append(evs, event{customer: fmt.Sprintf("c-%03d", i), typ: "login.failed", at: at.Add(time.Duration(3*i+j) * time.Millisecond)})
		}
	}
	produce(t, d.b, evs)
	d.waitLake(t, int64(len(evs)))

	var p console.PreviewResult
	if resp := call(t, "POST", d.url("/v1/console/preview"), "", draft(loginRule), &p); resp.StatusCode != 200 {
		t.Fatalf("preview: %d", resp.StatusCode)
	}
	var want []string
	want = append(want, "c-050")
	for i := range customers {
		if i != 50 && len(want) < 100 {
			want = append(want, fmt.Sprintf("c-%03d", i))
		}
	}
	var got []string
	for _, c := range p.Customers {
		got = append(got, c.Customer)
	}
	if p.CustomersTotal != customers || !slices.Equal(got, want) || p.Matches != len(evs) {
		t.Errorf("customers_total %d, %d listed (%v…), %d matches; want total %d, the 100 first %v…, %d matches",
			p.CustomersTotal, len(got), got[:min(3, len(got))], p.Matches, customers, want[:3], len(evs))
	}
	if len(p.Customers) > 0 && (p.Customers[0].Matches != 3 || !p.Customers[0].WouldAlert) {
		t.Errorf("first customer %+v, want c-050 with 3 matches, would alert", p.Customers[0])
	}
	// 20 examples at most, the newest: the last 20 events produced.
	if len(p.Examples) != 20 || p.Examples[0].Customer != "c-100" || p.Examples[19].Customer != "c-081" {
		t.Errorf("%d examples, want the newest 20 (c-100 down to c-081): %+v", len(p.Examples), p.Examples)
	}
	if !slices.Equal(p.WouldAlert, []string{"c-050"}) {
		t.Errorf("would_alert %v, want [c-050]", p.WouldAlert)
	}
}
