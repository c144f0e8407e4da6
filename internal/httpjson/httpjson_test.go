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
		if ct, cc := rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"); ct != "application/json" || cc != "no-store" {
			t.Errorf("%s: Content-Type %q, Cache-Control %q; want application/json, no-store", name, ct, cc)
		}
	}
	// What encodes is answered as asked, unescaped.
	rec := httptest.NewRecorder()
	httpjson.Write(rec, http.StatusCreated, map[string]string{"a": "<b>"})
	if rec.Code != http.StatusCreated || rec.Body.String() != `{"a":"<b>"}`+"\n" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Write: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
}

// goneWriter is a client that went away: every Write fails.
type goneWriter struct {
	header http.Header
	codes  []int
	writes int
}

func (g *goneWriter) Header() http.Header       { return g.header }
func (g *goneWriter) WriteHeader(code int)      { g.codes = append(g.codes, code) }
func (g *goneWriter) Write([]byte) (int, error) { g.writes++; return 0, errors.New("connection reset") }

// TestWriteToAGoneClientAnswersOnce: an answer that encoded but could not be written
// (the client is gone) is not followed by a 500 error body: its status went out with
// the first bytes, and an encoding error past the write is the client's.
func TestWriteToAGoneClientAnswersOnce(t *testing.T) {
	w := &goneWriter{header: http.Header{}}
	httpjson.Write(w, http.StatusOK, map[string]int{"n": 1})
	if len(w.codes) != 1 || w.codes[0] != http.StatusOK || w.writes != 1 {
		t.Errorf("statuses %v, %d writes; want one 200 and one write", w.codes, w.writes)
	}
}
