package console_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPreviewNamesTheOffsetOfTheDraftAsSent: a draft nested deeper than
// max_rule_json_depth is refused with the byte offset of the bracket that goes over.
// Validate and preview are given the same draft (a preview needs no id); both must
// name the offset in the rule the client sent, not in a re-encoding of it.
func TestPreviewNamesTheOffsetOfTheDraftAsSent(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	depth := rule.CurrentLimits().MaxJSONDepth
	deep := strings.Repeat("[", depth+4) + strings.Repeat("]", depth+4)
	draftRule := `{"scope":"*","when":{"path":"$.a","op":"==","value":` + deep + `},"threshold":1}`
	// Compact, so that the request carries it byte for byte. The rule's object and
	// when's are two levels: the bracket at level depth+1 is the (depth-1)th of the
	// value's.
	want := fmt.Sprintf("at byte offset %d", strings.Index(draftRule, "[")+depth-2)

	var v console.ValidateResponse
	if resp := call(t, "POST", d.url("/v1/console/validate"), "", draft(draftRule), &v); resp.StatusCode != 200 {
		t.Fatalf("validate: status %d %+v", resp.StatusCode, v)
	}
	var p console.ValidateResponse
	if resp := call(t, "POST", d.url("/v1/console/preview"), "", draft(draftRule), &p); resp.StatusCode != 422 {
		t.Fatalf("preview: status %d %+v, want 422", resp.StatusCode, p)
	}
	for name, r := range map[string]console.ValidateResponse{"validate": v, "preview": p} {
		if r.Valid || len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Msg, want) {
			t.Errorf("%s: problems %+v; want one naming %q", name, r.Problems, want)
		}
	}
}
