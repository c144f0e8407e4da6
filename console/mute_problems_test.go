package console_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/console"
)

// TestInvalidMuteAnswersItsProblems: console/API.md says "An invalid mute is 422 with
// the problems; nothing is published", field by field as a draft rule's 422 carries
// them. Only the message was answered, no problems (found by a review helper).
func TestInvalidMuteAnswersItsProblems(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	var res console.SaveResponse
	body := map[string]any{"id": "bad id!", "rule": "no such rule!", "for": "2h"}
	resp := call(t, "POST", d.url("/v1/console/mutes"), "", body, &res)
	if resp.StatusCode != 422 || res.Status != "invalid" {
		t.Fatalf("invalid mute: %d %+v, want 422 invalid", resp.StatusCode, res)
	}
	fields := map[string]bool{}
	for _, p := range res.Problems {
		fields[p.Field] = true
	}
	if !fields["id"] || !fields["rule"] || res.Key != "mute:*/bad id!" || res.Op != "upsert" {
		t.Errorf("invalid mute answered problems %+v (message %q, key %q, op %q), want one on field id and one on field rule, key mute:*/bad id!, op upsert",
			res.Problems, res.Message, res.Key, res.Op)
	}
}
