package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// TestWindowLimitFlagsStateTheirBounds: --max-rule-window-overlap is refused above
// 65536 and --max-rule-open-windows below --max-rule-window-overlap (rule.Limits'
// validation, exit status 2), and the README's Limits table says so; the help of
// both said neither, so the only place a user reads a flag's range left it out. So
// too --max-rule-path-bytes above jsonpath.MaxExprLen, --max-rule-json-depth above
// jsonpath.MaxDepth and --max-rule-bytes above --max-rules-bytes, refused alike.
func TestWindowLimitFlagsStateTheirBounds(t *testing.T) {
	t.Parallel()
	f := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var l rule.Limits
	addRuleLimitFlags(f, &l)
	for flag, want := range map[string]string{
		"max-rule-window-overlap": "at most " + strconv.Itoa(rule.WindowOverlapCeiling),
		"max-rule-open-windows":   "at least --max-rule-window-overlap",
		"max-rule-path-bytes":     "at most " + strconv.Itoa(jsonpath.MaxExprLen),
		"max-rule-json-depth":     "at most " + strconv.Itoa(jsonpath.MaxDepth),
		"max-rule-bytes":          "at most --max-rules-bytes",
	} {
		fl := f.Lookup(flag)
		if fl == nil {
			t.Fatalf("no --%s", flag)
		}
		if !strings.Contains(fl.Usage, want) {
			t.Errorf("--%s's help %q does not say %q", flag, fl.Usage, want)
		}
	}

	bad := l
	bad.MaxWindowOverlap = rule.WindowOverlapCeiling + 1
	bad.MaxOpenWindows = bad.MaxWindowOverlap
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "at most "+strconv.Itoa(rule.WindowOverlapCeiling)) {
		t.Errorf("--max-rule-window-overlap %d: %v; want it refused, naming its ceiling", bad.MaxWindowOverlap, err)
	}
	bad = l
	bad.MaxOpenWindows = l.MaxWindowOverlap - 1
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), rule.LimitOpenWindows) {
		t.Errorf("--max-rule-open-windows %d under --max-rule-window-overlap %d: %v; want it refused", bad.MaxOpenWindows, l.MaxWindowOverlap, err)
	}
}
