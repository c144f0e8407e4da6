package httpjson_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/httpjson"
)

// TestQueryRefusesWhatItCannotRead: url.Values drops a pair whose percent-encoding is
// malformed, and a handler then answers as if the parameter had not been given. Query
// answers 400 naming the parameter, and a semicolon (which Go no longer takes for a
// separator) as a semicolon, not as a missing parameter.
func TestQueryRefusesWhatItCannotRead(t *testing.T) {
	for _, tt := range []struct{ query, says string }{
		{"rule=any&cursor=Yy0w%zz", `"cursor"`},
		{"rule=any&customer=c-0%zz1", `"customer"`},
		{"rule=any&limit=%zz", `"limit"`},
		{"rule=any&li%zzmit=3", `"li%zzmit"`},
		{"rule=any;limit=2", "semicolon"},
	} {
		rec := httptest.NewRecorder()
		q, ok := httpjson.Query(rec, httptest.NewRequest("GET", "/v1/counts?"+tt.query, nil))
		var body struct{ Error string }
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if ok || q != nil || rec.Code != http.StatusBadRequest || !strings.Contains(body.Error, tt.says) {
			t.Errorf("?%s: ok %v, %d %q; want 400 saying %s", tt.query, ok, rec.Code, rec.Body, tt.says)
		}
	}
	rec := httptest.NewRecorder()
	q, ok := httpjson.Query(rec, httptest.NewRequest("GET", "/v1/counts?rule=a%2Fb&customer=c+1", nil))
	if !ok || q.Get("rule") != "a/b" || q.Get("customer") != "c 1" || rec.Body.Len() != 0 {
		t.Errorf("a well-formed query: ok %v %v, answered %q", ok, q, rec.Body)
	}
}
