package verdict

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

func TestAcceptReasons(t *testing.T) {
	doc := jsonpath.NewDocument()
	for _, tc := range []struct {
		key, value, reason string
	}{
		{"c-1", `{"a":1}`, ""},
		{"\xffc-1", `{"a":1}`, ReasonInvalidKey}, // only the first byte is not UTF-8
		{"c-ü", `{"a":"\ud800"}`, ""},            // a lone surrogate escape is valid JSON text
		{"", `{"a":1}`, ReasonMissingKey},
		{"c-\xff", `{"a":1}`, ReasonInvalidKey},
		{"\xc0\xaf", `{"a":1}`, ReasonInvalidKey},     // overlong '/'
		{"\xed\xa0\x80", `{"a":1}`, ReasonInvalidKey}, // a surrogate encoded in UTF-8
		// A customer id is held by every counter, group and alert: a megabyte's key made
		// each customer a megabyte (max_customer_bytes, 1,024 by default).
		{strings.Repeat("c", 1024), `{"a":1}`, ""},
		{strings.Repeat("c", 1025), `{"a":1}`, ReasonKeyTooLong},
		{strings.Repeat("\xff", 1025), `{"a":1}`, ReasonKeyTooLong},
		{"c-1", "{\"a\":\"\xff\"}", ReasonInvalidJSON},
		{"c-1", `{"a":NaN}`, ReasonInvalidJSON},
		{"c-1", `{"a":1,}`, ReasonInvalidJSON},
		{"c-1", `{"a":1} x`, ReasonInvalidJSON},
		{"c-1", strings.Repeat("[", jsonpath.MaxDepth+1) + strings.Repeat("]", jsonpath.MaxDepth+1), ReasonTooDeep},
	} {
		reason, err := Accept(doc, []byte(tc.key), []byte(tc.value))
		if reason != tc.reason || (err == nil) != (tc.reason == "") {
			t.Errorf("Accept(%q, %.30q) = %q, %v; want %q", tc.key, tc.value, reason, err, tc.reason)
		}
		// live's /v1/counts tells a refused customer by its error (errors.Is), not by
		// the reason: each key reason's error must wrap its Err.
		if want := keyErrs[tc.reason]; want != nil && !errors.Is(err, want) {
			t.Errorf("Accept(%.30q, %.30q): error %v does not wrap %v", tc.key, tc.value, err, want)
		}
	}
}

// keyErrs are the errors the key reasons wrap.
var keyErrs = map[string]error{
	ReasonMissingKey: ErrMissingKey,
	ReasonInvalidKey: ErrInvalidKey,
	ReasonKeyTooLong: ErrKeyTooLong,
}

// FuzzAccept: Accept never panics, accepts exactly a non-empty UTF-8 key of at most
// max_customer_bytes with a value
// jsonpath reads, and leaves doc holding the value it accepted.
func FuzzAccept(f *testing.F) {
	f.Add([]byte("c-1"), []byte(`{"a":[1,"x",{"b":null}]}`))
	f.Add([]byte("c-\xff"), []byte(`{}`))
	f.Add([]byte(""), []byte(`{}`))
	f.Add([]byte("k"), []byte("\ufeff{}"))
	f.Add([]byte("k"), []byte(`{"a":"\ud800"}`))
	doc, ref := jsonpath.NewDocument(), jsonpath.NewDocument()
	f.Fuzz(func(t *testing.T, key, value []byte) {
		reason, err := Accept(doc, key, value)
		refErr := ref.Reset(value)
		switch {
		case len(key) == 0:
			if reason != ReasonMissingKey || !errors.Is(err, ErrMissingKey) {
				t.Fatalf("empty key: %q, %v", reason, err)
			}
		case len(key) > rule.CurrentLimits().MaxCustomerBytes:
			if reason != ReasonKeyTooLong || !errors.Is(err, ErrKeyTooLong) {
				t.Fatalf("key of %d bytes: %q, %v", len(key), reason, err)
			}
		case !utf8.Valid(key):
			if reason != ReasonInvalidKey || !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("key %q: %q, %v", key, reason, err)
			}
		case refErr != nil:
			want := ReasonInvalidJSON
			if errors.Is(refErr, jsonpath.ErrTooDeep) {
				want = ReasonTooDeep
			}
			if reason != want || err == nil {
				t.Fatalf("value %q (%v): %q, %v", value, refErr, reason, err)
			}
		default:
			if reason != "" || err != nil {
				t.Fatalf("valid record %q %q refused: %q, %v", key, value, reason, err)
			}
			if !utf8.Valid(value) {
				t.Fatalf("accepted a value that is not UTF-8: %q", value)
			}
		}
	})
}
