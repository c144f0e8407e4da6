package demo_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/demo"
)

// The built-in rules are testdata/rules/sample.yaml, byte for byte.
func TestSampleRulesMatchTestdata(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("../../testdata/rules/sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(demo.SampleRules, want) {
		t.Fatal("live/demo/sample.yaml differs from testdata/rules/sample.yaml: copy one onto the other")
	}
}

func TestDemoRunsAndStopsByItself(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := demo.Run(ctx, demo.Config{
		Live: live.Config{HTTPAddr: "127.0.0.1:0",
			Embedded: ingest.EmbeddedConfig{Addr: "127.0.0.1:0"}},
		Rate: 400, Duration: 4 * time.Second, Refresh: 500 * time.Millisecond, MalformedEvery: 100,
		Out: &out, Plain: true,
	})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	t.Log(s)
	m := regexp.MustCompile(`demo finished after \S+: (\d+) events, (\d+) alerts raised, (\d+) dead letters`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no summary line")
	}
	events, _ := strconv.Atoi(m[1])
	alerts, _ := strconv.Atoi(m[2])
	dead, _ := strconv.Atoi(m[3])
	// Events flow for the duration less the start and a reserve for stopping (0.8s of 4s).
	if events < 600 || alerts == 0 || dead < events/100-1 || dead > events/100+1 {
		t.Errorf("events %d, alerts %d, dead letters %d: want at least 600 events (400/s for about 2-3s), some alerts, one dead letter per 100", events, alerts, dead)
	}
	// The whole run fits in its duration, stopping included, give or take a loaded
	// machine's scheduling: a flake hunt under load saw 3.3-3.8 s, 0.2 s short of
	// failing, where the stop has a 0.4 s bound of its own.
	if took := regexp.MustCompile(`demo finished after (\S+):`).FindStringSubmatch(s); took == nil {
		t.Error("no duration in the summary")
	} else if d, err := time.ParseDuration(took[1]); err != nil || d > 4*time.Second+500*time.Millisecond {
		t.Errorf("the demo took %s for a duration of 4s", took[1])
	}
	for _, want := range []string{"TOP COUNTS", "LATEST ALERTS", "*/admin-login-failures", "REJECTED CONTROLS", "*/broken-rule", "column", "version 2 published",
		"While it ran, the console was at http://127.0.0.1:", "hindsight live ", "hindsight rules apply -f testdata/rules/sample.yaml", "| hindsight produce"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// Rate and Customers have maximums, refused by Validate naming their flags, and taken
// at them: --customers 2^50 panicked in the generator, 10^9 asked for 16 GB, and
// --rate 10^9 ran on past --duration.
func TestValidateBoundsRateAndCustomers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rate, customers int
		want            string
	}{
		{demo.MaxRate, demo.MaxCustomers, ""},
		{0, 0, ""}, // the defaults
		{demo.MaxRate + 1, 50, "demo: rate 10001 events/s is above the maximum 10000 (--rate)"},
		{1_000_000_000, 50, "demo: rate 1000000000 events/s is above the maximum 10000 (--rate)"},
		{200, demo.MaxCustomers + 1, "demo: customers 1000001 is above the maximum 1000000 (--customers)"},
		{200, 1 << 50, "demo: customers 1125899906842624 is above the maximum 1000000 (--customers)"},
	} {
		cfg := demo.Config{Rate: c.rate, Customers: c.customers}
		cfg.EnsureDefaults()
		err := cfg.Validate()
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("rate %d, customers %d: Validate() = %v, want %q", c.rate, c.customers, err, c.want)
		}
	}
}
