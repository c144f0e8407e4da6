package rule

import (
	"testing"
	"time"
)

// TestSuppressFor: a windowed rule's (customer, group) is quiet after an alert for its
// alert.suppress, zero included (every crossing alerts), else for its window's size;
// a rule without window has none. The window evaluator reads it, so a wrong default
// changes which crossings are sent.
func TestSuppressFor(t *testing.T) {
	for _, tt := range []struct {
		fields string
		want   time.Duration
	}{
		{`"window":{"size":"10m","every":"1m"}`, 10 * time.Minute},
		{`"window":{"size":"10m"},"alert":{"suppress":"30m"}`, 30 * time.Minute},
		{`"window":{"size":"10m"},"alert":{"suppress":"0s"}`, 0},
		{`"window":{"size":"10m"},"alert":{"severity":"high"}`, 10 * time.Minute},
		{``, 0},
	} {
		r, err := ParseRule([]byte(aggRule(tt.fields)))
		if err != nil {
			t.Fatalf("%s: %v", tt.fields, err)
		}
		if got := r.SuppressFor(); got != tt.want {
			t.Errorf("%s: SuppressFor = %v, want %v", tt.fields, got, tt.want)
		}
	}
}
