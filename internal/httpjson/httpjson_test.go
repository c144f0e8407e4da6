package httpjson_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/httpjson"
)

// unencodable is a value whose MarshalJSON fails, as time.Time's does past year 9999.
type unencodable struct{}

func (unencodable) MarshalJSON() ([]byte, error) { return nil, errors.New("no JSON for this") }

// TestWriteAnswers500WhenTheValueCannotBeEncoded: Write sent its status before
// encoding and dropped the encoding's error, so a value encoding/json refuses went out
// as 200 with an empty body. It must be a 500 whose error body says what could not be
// encoded.
func TestWriteAnswers500WhenTheValueCannotBeEncoded(t *testing.T) {
	for name, v := range map[string]any{
		"MarshalJSON fails": map[string]any{"x": unencodable{}},
		"year past 9999":    struct{ At time.Time }{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		rec := httptest.NewRecorder()
		httpjson.Write(rec, http.StatusOK, v)
		var body struct{ Error string }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); rec.Code != http.StatusInternalServerError || err != nil ||
			!strings.Contains(body.Error, "could not be encoded") {
			t.Errorf("%s: %d %q; want 500 with an error body saying the answer could not be encoded", name, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q, want application/json", name, ct)
		}
	}
	// What encodes is answered as asked, unescaped.
	rec := httptest.NewRecorder()
	httpjson.Write(rec, http.StatusCreated, map[string]string{"a": "<b>"})
	if rec.Code != http.StatusCreated || rec.Body.String() != `{"a":"<b>"}`+"\n" {
		t.Errorf("Write: %d %q", rec.Code, rec.Body)
	}
}
