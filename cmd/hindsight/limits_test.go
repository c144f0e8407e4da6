package main

import (
	"errors"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRuleLimitFlags: every rule limit has a flag named after it whose default is
// rule.DefaultLimits, flags and environment variables set the limits, and
// applyRuleLimits puts them in force or refuses them naming the limit.
func TestRuleLimitFlags(t *testing.T) {
	t.Cleanup(func() {
		if err := rule.SetLimits(rule.DefaultLimits); err != nil {
			t.Fatal(err)
		}
	})
	with := func(f func(*rule.Limits)) rule.Limits {
		l := rule.DefaultLimits
		f(&l)
		return l
	}
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		want     rule.Limits
		parseErr string // substring of the flag parsing error
		applyErr string // substring of applyRuleLimits' error
	}{
		{"defaults", nil, nil, rule.DefaultLimits, "", ""},
		{"flags", []string{"--max-rule-in-list=5", "--max-rule-lookback=30d", "--max-rules-file-bytes=4096", "--max-rule-depth=4"}, nil,
			with(func(l *rule.Limits) {
				l.MaxInList, l.MaxLookback, l.MaxRulesFileBytes, l.MaxDepth = 5, rule.Duration(30*24*time.Hour), 4096, 4
			}), "", ""},
		{"environment", nil, map[string]string{"HINDSIGHT_MAX_RULE_IN_LIST": "7", "HINDSIGHT_MAX_RULE_LOOKBACK": "720h"},
			with(func(l *rule.Limits) { l.MaxInList, l.MaxLookback = 7, rule.Duration(720*time.Hour) }), "", ""},
		{"flag over environment", []string{"--max-rule-in-list=9"}, map[string]string{"HINDSIGHT_MAX_RULE_IN_LIST": "7"},
			with(func(l *rule.Limits) { l.MaxInList = 9 }), "", ""},
		{"lookback that overflows", []string{"--max-rule-lookback=213504d"}, nil, rule.Limits{},
			`invalid argument "213504d" for "--max-rule-lookback" flag: invalid duration "213504d": out of range`, ""},
		{"zero", []string{"--max-rule-in-list=0"}, nil, with(func(l *rule.Limits) { l.MaxInList = 0 }),
			"", "max_rule_in_list is 0; it must be at least 1"},
		{"depth beyond the JSON depth", []string{"--max-rule-depth=40"}, nil, with(func(l *rule.Limits) { l.MaxDepth = 40 }),
			"", "max_rule_json_depth is 64; it must be at least 83"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var got rule.Limits
			cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
			addRuleLimitFlags(cmd.Flags(), &got)
			err := cmd.Flags().Parse(tt.args)
			if err == nil {
				err = applyEnv(cmd)
			}
			if tt.parseErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.parseErr) {
					t.Fatalf("parsing %v: %v; want an error containing %q", tt.args, err, tt.parseErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("limits\n got  %+v\n want %+v", got, tt.want)
			}
			err = applyRuleLimits(got)
			if tt.applyErr != "" {
				var ue usageError
				if err == nil || !strings.Contains(err.Error(), tt.applyErr) || !errors.As(err, &ue) {
					t.Fatalf("applyRuleLimits: %v; want a usage error containing %q", err, tt.applyErr)
				}
				if rule.CurrentLimits() != rule.DefaultLimits {
					t.Fatalf("refused limits are in force: %+v", rule.CurrentLimits())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rule.CurrentLimits() != tt.want {
				t.Fatalf("in force %+v, want %+v", rule.CurrentLimits(), tt.want)
			}
			if err := rule.SetLimits(rule.DefaultLimits); err != nil {
				t.Fatal(err)
			}
		})
	}

	// The limits applied are the ones rules are validated with.
	if err := applyRuleLimits(with(func(l *rule.Limits) { l.MaxInList = 2 })); err != nil {
		t.Fatal(err)
	}
	_, err := rule.ParseControl([]byte(`{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a","op":"in","value":[1,2,3]}}}`))
	if err == nil || !strings.Contains(err.Error(), "when.value: in list has 3 members; at most 2 (limit max_rule_in_list)") {
		t.Fatalf("with --max-rule-in-list=2: %v", err)
	}
}

// TestRuleLimitFlagNames: one flag per limit, spelt as the limit's name in errors, with
// the limit's default as the flag's own default (shown by --help).
func TestRuleLimitFlagNames(t *testing.T) {
	t.Parallel()
	f := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var l rule.Limits
	addRuleLimitFlags(f, &l)
	n := 0
	rule.DefaultLimits.Each(func(name string, v float64) {
		n++
		fl := f.Lookup(strings.ReplaceAll(name, "_", "-"))
		if fl == nil {
			t.Errorf("no flag for limit %s", name)
			return
		}
		want := strconv.FormatFloat(v, 'f', -1, 64)
		switch name {
		case rule.LimitLookback:
			want = rule.DefaultLimits.MaxLookback.String()
		case rule.LimitMuteRetention:
			want = rule.DefaultLimits.MuteRetention.String()
		}
		if fl.DefValue != want {
			t.Errorf("--%s defaults to %q, want %q", fl.Name, fl.DefValue, want)
		}
	})
	flags := 0
	f.VisitAll(func(*pflag.Flag) { flags++ })
	if flags != n || n != 28 {
		t.Errorf("%d flags for %d limits, want 28 of each", flags, n)
	}

	var mem int64
	addBackfillMemoryFlag(f, &mem)
	if mem != backfill.DefaultMemoryLimit {
		t.Fatalf("--backfill-memory-limit defaults to %d", mem)
	}
	if err := f.Parse([]string{"--backfill-memory-limit=268435456"}); err != nil || mem != 256<<20 {
		t.Fatalf("--backfill-memory-limit=268435456: %d, %v", mem, err)
	}

	var budget int64 = -1
	addMemoryLimitFlag(f, &budget)
	if budget != 0 {
		t.Fatalf("--memory-limit defaults to %d, want 0 (none)", budget)
	}
	if err := f.Parse([]string{"--memory-limit=629145600"}); err != nil || budget != 600<<20 {
		t.Fatalf("--memory-limit=629145600: %d, %v", budget, err)
	}
}

// TestGCPercentDefaults: --gogc 0 takes the daemon's target for where it runs (the
// embedded broker's log on the heap, else the archive's feed), a value given wins.
func TestGCPercentDefaults(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); set {
		t.Fatal("GOGC is set in the environment: setGCPercent leaves it alone, so this test cannot see its choice")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct {
		flag    int
		archive bool
		want    int
	}{
		{0, true, live.ArchiveGCPercent},
		{0, false, live.DefaultGCPercent},
		{75, true, 75},
		{75, false, 75},
	} {
		setGCPercent(tc.flag, tc.archive)
		if got := debug.SetGCPercent(100); got != tc.want {
			t.Errorf("--gogc %d, archive %v: GOGC %d, want %d", tc.flag, tc.archive, got, tc.want)
		}
	}
}

// TestEveryLimitIsDocumented: each limit hindsight live shows in /metrics is one of its
// flags (the limit's name with '-' for '_', less a unit suffix) and has a row of the
// README's Limits table naming that flag, so that a limit added without either fails
// here.
func TestEveryLimitIsDocumented(t *testing.T) {
	t.Parallel()
	liveCmd, _, err := newRootCmd().Find([]string{"live"})
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Limits\n")
	if !ok {
		t.Fatal(`the README has no "## Limits" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")

	_, lines := startBinary(t, "live", "--ephemeral", "--embedded-addr", "127.0.0.1:0", "--http", "127.0.0.1:0")
	var logged []string
	httpAddr := waitLine(t, lines, regexp.MustCompile(`msg="http listening" addr=(\S+)`), &logged)
	metrics := livetest.GetText(t, "http://"+httpAddr+"/metrics")
	names := regexp.MustCompile(`(?m)^hindsight_limit\{name="([^"]+)"\}`).FindAllStringSubmatch(metrics, -1)
	if len(names) < 40 {
		t.Fatalf("/metrics shows %d limits; hindsight live has more than 40:\n%s", len(names), metrics)
	}
	for _, m := range names {
		name, flag := m[1], ""
		for _, suffix := range []string{"", "_seconds", "_bytes", "_records"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && liveCmd.Flags().Lookup(strings.ReplaceAll(base, "_", "-")) != nil {
				flag = strings.ReplaceAll(base, "_", "-")
				break
			}
		}
		switch {
		case flag == "":
			t.Errorf("limit %s is no flag of hindsight live", name)
		case !strings.Contains(section, "`--"+flag+"`"):
			t.Errorf("limit %s (--%s) has no row in the README's Limits table", name, flag)
		}
	}
}
