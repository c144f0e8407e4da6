package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/console"
)

// TestValidateDeeplyNestedRuleIsAProblem: validate is "always 200 for a well-formed
// request", the draft's problems listed as the engine finds them. The engine refuses
// a rule nested deeper than 64 levels ("JSON nesting deeper than 64 levels …
// (limit max_rule_json_depth)"), and validate says so for a value nested 100 deep;
// nested 5000 deep (well-formed JSON, 10 KB, which encoding/json reads) the request
// is 400 "Syntax error at index …: recursion exceeded max depth": the console's second,
// case-sensitive decode (sonic) stops at its own depth and calls the JSON malformed,
// so the caller learns neither the limit nor that the JSON was fine.
func TestValidateDeeplyNestedRuleIsAProblem(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	for _, depth := range []int{100, 5000} {
		ruleJSON := `{"id":"x","when":{"path":"$.a","op":"==","value":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `},"threshold":1}`
		var v console.ValidateResponse
		resp := callWith(t, "POST", d.url("/v1/console/validate"), "", draft(ruleJSON), nil, nil)
		if resp.StatusCode != http.StatusOK {
			var e struct {
				Error string `json:"error"`
			}
			callWith(t, "POST", d.url("/v1/console/validate"), "", draft(ruleJSON), &e, nil)
			msg := e.Error
			if len(msg) > 100 {
				msg = msg[:100] + "…"
			}
			t.Errorf("validate of a value nested %d deep: %d %q; want 200, valid false, the problem naming max_rule_json_depth", depth, resp.StatusCode, msg)
			continue
		}
		callWith(t, "POST", d.url("/v1/console/validate"), "", draft(ruleJSON), &v, nil)
		if v.Valid || !strings.Contains(v.Error, "max_rule_json_depth") {
			t.Errorf("validate of a value nested %d deep: valid %v, error %q; want the problem naming max_rule_json_depth", depth, v.Valid, v.Error)
		}
	}
}
