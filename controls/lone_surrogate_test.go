package controls

import (
	"strings"
	"testing"
	"time"
)

// TestLoneSurrogateEscapesAreRefused: ParseControl refuses bytes that are not
// UTF-8 because "the decoders turn such bytes into U+FFFD, and a rule would compare with
// a value, or carry a name, its author never wrote" (checkUTF8). A lone surrogate
// written as an escape ("\ud800") is the same text by other means: the decoders turn it
// into U+FFFD too, and the control was taken with a name, a JSONPath (whose own parser
// refuses lone surrogates, RFC 9535, but saw the path decoded) or a mute's scope its
// author never wrote. It is refused as such bytes are, with its byte offset.
func TestLoneSurrogateEscapesAreRefused(t *testing.T) {
	for _, tc := range []struct{ name, key, value string }{
		{"rule name", "*/r", `{"op":"upsert","rule":{"id":"r","scope":"*","name":"deploy \udc00","when":{"path":"$.type"},"threshold":2}}`},
		{"rule path", "*/r", `{"op":"upsert","rule":{"id":"r","scope":"*","when":{"path":"$['\ud800']","op":"exists"},"threshold":2}}`},
		{"mute scope", "mute:c-\ufffd/m", `{"op":"upsert","mute":{"scope":"c-\ud800","id":"m","rule":"*"}}`},
	} {
		rec := Decode([]byte(tc.key), []byte(tc.value), 0, 1, time.Unix(1, 0))
		if rec.Err == nil {
			data, _ := rec.Control.Marshal()
			t.Errorf("%s: %s was taken, as %s (U+FFFD where the author wrote a lone surrogate)", tc.name, tc.value, strings.ReplaceAll(string(data), "\ufffd", `<U+FFFD>`))
		}
	}
}
