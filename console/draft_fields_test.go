package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestFieldsOfAnotherEndpointAreRefused: API.md has every body's field names "as
// written here …, else 400" ("Scope" is an unknown field). validate, preview, backtest
// and save share one request type, so each silently takes the others' fields and
// ignores them: a preview asked for {"days": 1} (the backtest's bound) samples the
// whole lookback and answers 200 as if bounded; a backtest asked for {"sample": 100}
// reads the whole lake. A user must be told the field does nothing there.
func TestFieldsOfAnotherEndpointAreRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	for _, c := range []struct{ path, body, field string }{
		{"/v1/console/preview", `{"rule":` + loginRule + `,"days":1}`, "days"},
		{"/v1/console/preview", `{"rule":` + loginRule + `,"wait_ms":100}`, "wait_ms"},
		{"/v1/console/backtest", `{"rule":` + loginRule + `,"sample":100}`, "sample"},
		{"/v1/console/validate", `{"rule":` + loginRule + `,"base":{"key":"*/login-failures","version":1}}`, "base"},
		{"/v1/console/rules", `{"rule":` + loginRule + `,"days":1}`, "days"},
	} {
		resp, data := livetest.Request(t, "POST", d.url(c.path), strings.NewReader(c.body), func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json")
		})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), c.field) {
			t.Errorf("POST %s with %q, which it does not take: %d %.160s; want 400 naming %q",
				c.path, c.field, resp.StatusCode, strings.TrimSpace(string(data)), c.field)
		}
	}
}

// TestSaveBaseWithNegativeVersionIsBadInput: base.version is "the version then
// active" (0: none); a negative one is not a version at all, a client's mistake, and
// must be refused as such (400 naming base.version), not answered 409 "conflict" with
// a message saying the rule was "deleted since this edit began from its version -5".
func TestSaveBaseWithNegativeVersionIsBadInput(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	body := `{"rule":` + loginRule + `,"base":{"key":"*/login-failures","version":-5}}`
	resp, data := livetest.Request(t, "POST", d.url("/v1/console/rules"), strings.NewReader(body), func(r *http.Request) {
		r.Header.Set("Content-Type", "application/json")
	})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "base.version") {
		t.Errorf("save with base.version -5: %d %s; want 400 naming base.version", resp.StatusCode, strings.TrimSpace(string(data)))
	}
}

// TestSaveBaseOutOfRangeIsBadInput: each base field that names no rule's state is
// refused as such (400 naming it), nothing published: a version past 2^53, which no
// rule may carry; a version with an empty key (an edit begun as a new rule has version
// 0); a key that is not SCOPE/ID. The base the page sends, {"key": "", "version": 0}
// for a new rule, is taken.
func TestSaveBaseOutOfRangeIsBadInput(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	for _, c := range []struct{ base, field string }{
		{`{"key":"*/login-failures","version":9007199254740993}`, "base.version"},
		{`{"key":"","version":3}`, "base.version"},
		{`{"key":"login-failures","version":1}`, "base.key"},
		{`{"key":"*/","version":1}`, "base.key"},
	} {
		code, data := postJSON(t, d, "/v1/console/rules", `{"rule":`+loginRule+`,"base":`+c.base+`}`)
		if code != http.StatusBadRequest || !strings.Contains(data, c.field) {
			t.Errorf("save with base %s: %d %s; want 400 naming %s", c.base, code, data, c.field)
		}
	}
	if n := d.b.TopicRecords(t, "controls"); n != 0 {
		t.Fatalf("%d controls published by saves with a bad base, want 0", n)
	}
	if code, data := postJSON(t, d, "/v1/console/rules", `{"rule":`+loginRule+`,"base":{"key":"","version":0}}`); code != http.StatusOK {
		t.Errorf("save of a new rule with the page's base: %d %s, want 200", code, data)
	}
}
