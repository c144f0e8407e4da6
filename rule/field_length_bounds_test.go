package rule

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// problemFields is the fields err's problems name, or nil for no error.
func problemFields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	var fields []string
	for _, p := range ve.Problems {
		fields = append(fields, p.Field)
	}
	return fields
}

// TestDestinationAndMuteFieldBounds: each documented bound on a destination's or a
// mute's fields takes a value exactly at it and refuses one a byte (or a port) past it,
// naming that field alone. No test held the values at the bounds: each comparison
// could be made strict, refusing what the message says is allowed.
func TestDestinationAndMuteFieldBounds(t *testing.T) {
	dest := func(edit func(*Destination)) *Destination {
		d := &Destination{Scope: "*", Name: "d", Type: DestWebhook, URL: "https://h.example/"}
		edit(d)
		return d
	}
	mute := func(edit func(*Mute)) *Mute {
		m := &Mute{Scope: "*", ID: "m", Rule: "*"}
		edit(m)
		return m
	}
	// url pads a URL to n bytes with its path.
	url := func(n int) string {
		const base = "https://h.example/"
		return base + strings.Repeat("p", n-len(base))
	}
	tests := []struct {
		name string
		err  error
		want []string // the fields refused; nil: valid
	}{
		{"destination scope of 256 bytes", dest(func(d *Destination) { d.Scope = strings.Repeat("c", 256) }).Validate(), nil},
		{"destination scope of 257 bytes", dest(func(d *Destination) { d.Scope = strings.Repeat("c", 257) }).Validate(), []string{"scope"}},
		{"description of 1024 bytes", dest(func(d *Destination) { d.Description = strings.Repeat("d", 1024) }).Validate(), nil},
		{"description of 1025 bytes", dest(func(d *Destination) { d.Description = strings.Repeat("d", 1025) }).Validate(), []string{"description"}},
		{"url of 2048 bytes", dest(func(d *Destination) { d.URL = url(2048) }).Validate(), nil},
		{"url of 2049 bytes", dest(func(d *Destination) { d.URL = url(2049) }).Validate(), []string{"url"}},
		{"port 65535", dest(func(d *Destination) { d.URL = "https://h.example:65535/" }).Validate(), nil},
		{"port 65536", dest(func(d *Destination) { d.URL = "https://h.example:65536/" }).Validate(), []string{"url"}},
		{"port 1", dest(func(d *Destination) { d.URL = "https://h.example:1/" }).Validate(), nil},
		{"port 0", dest(func(d *Destination) { d.URL = "https://h.example:0/" }).Validate(), []string{"url"}},
		{"mute scope of 256 bytes", mute(func(m *Mute) { m.Scope = strings.Repeat("c", 256) }).Validate(), nil},
		{"mute scope of 257 bytes", mute(func(m *Mute) { m.Scope = strings.Repeat("c", 257) }).Validate(), []string{"scope"}},
		{"reason of 1024 bytes", mute(func(m *Mute) { m.Reason = strings.Repeat("r", 1024) }).Validate(), nil},
		{"reason of 1025 bytes", mute(func(m *Mute) { m.Reason = strings.Repeat("r", 1025) }).Validate(), []string{"reason"}},
		{"by of 256 bytes", mute(func(m *Mute) { m.By = strings.Repeat("b", 256) }).Validate(), nil},
		{"by of 257 bytes", mute(func(m *Mute) { m.By = strings.Repeat("b", 257) }).Validate(), []string{"by"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := problemFields(t, tt.err); !slices.Equal(got, tt.want) {
				t.Errorf("refused fields %q (%v); want %q", got, tt.err, tt.want)
			}
		})
	}
}

// TestDeleteVersionBounds: a rule's delete carries the version deleted, 1 to 2^53 as
// the message says; 2^53 itself was held by no test.
func TestDeleteVersionBounds(t *testing.T) {
	mustLimits(t)
	for _, tt := range []struct {
		version string
		want    []string
	}{
		{"9007199254740992", nil},
		{"9007199254740993", []string{"version"}},
		{"-1", []string{"version"}},
	} {
		_, err := ParseControl([]byte(`{"op":"delete","scope":"*","id":"x","version":` + tt.version + `}`))
		if got := problemFields(t, err); !slices.Equal(got, tt.want) {
			t.Errorf("delete of version %s: refused fields %q (%v); want %q", tt.version, got, err, tt.want)
		}
	}
}

// TestRuleTestCustomerBounds: a test's customer is at most 256 bytes, as a scope is;
// one of 256 is taken and one of 257 refused at its line.
func TestRuleTestCustomerBounds(t *testing.T) {
	mustLimits(t)
	file := func(customer string) string {
		return "- id: g\n  scope: \"*\"\n  when: {path: $.type}\n  threshold: 2\n  tests:\n  - name: a\n    customer: " +
			customer + "\n    events: [{type: a}]\n    expect: {alerts: 0}\n"
	}
	f, err := ParseRulesFileTests("r.yaml", []byte(file(strings.Repeat("c", 256))))
	if err != nil {
		t.Fatalf("a customer of 256 bytes: %v", err)
	}
	if len(f.Tests) != 1 || f.Tests[0].Customer != strings.Repeat("c", 256) {
		t.Fatalf("a customer of 256 bytes: tests %+v", f.Tests)
	}
	_, err = ParseRulesFileTests("r.yaml", []byte(file(strings.Repeat("c", 257))))
	const want = `r.yaml:7: rule #1 (id "g"): invalid rule "g": tests[0].customer: must be one customer id (no '*', newline, carriage return or tab, at most 256 bytes)`
	if err == nil || err.Error() != want {
		t.Errorf("a customer of 257 bytes: %v; want %s", err, want)
	}
}
