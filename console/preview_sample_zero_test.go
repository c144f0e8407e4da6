package console_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/hindsightdev/hindsight/console"
)

// TestPreviewSampleZeroIsRefused: API.md says a preview's `sample` is "1 to
// --preview-max-sample", and a sample below 1 (-1) is refused 400 "sample must be from
// 1 to …". A sample of 0 is below 1 too, but is taken silently as the default
// (--preview-sample, 5000): the client asked for no events and gets a preview of 5000,
// with nothing in the answer saying its sample was replaced.
func TestPreviewSampleZeroIsRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	for _, tc := range []struct {
		name   string
		sample int
	}{
		{"negative", -1},
		{"zero", 0},
	} {
		body := map[string]any{"rule": json.RawMessage(loginRule), "sample": tc.sample}
		var e struct {
			Error string `json:"error"`
			console.PreviewResult
		}
		resp := call(t, "POST", d.url("/v1/console/preview"), "", body, &e)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: preview with sample %d answered %d (error %q); want 400 as API.md's \"1 to --preview-max-sample\" says",
				tc.name, tc.sample, resp.StatusCode, e.Error)
		}
	}
}
