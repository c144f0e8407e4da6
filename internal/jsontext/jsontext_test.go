package jsontext

import "testing"

func TestRepeatedKey(t *testing.T) {
	for _, tc := range []struct {
		text  string
		key   string
		found bool
	}{
		{`{"a":1,"b":2}`, "", false},
		{`{"a":1,"a":2}`, "a", true},
		{`{"a":{"b":1},"c":{"b":2}}`, "", false}, // the same key in two objects
		{`{"a":[{"x":1,"x":2}]}`, "x", true},
		{`{"a":"b","b":"a"}`, "", false}, // values are not keys
		{`{"a":[1,"a",{"a":1}],"b":1}`, "", false},
		{`{"a\u0062":1,"ab":2}`, "ab", true}, // compared unescaped
		{`[{"a":1},{"a":1}]`, "", false},
		{`{"a":1,`, "", false}, // not JSON: the decoder says so
		{`{"rule":{"threshold":3},"rule":{}}`, "rule", true},
	} {
		key, _, found := RepeatedKey([]byte(tc.text))
		if key != tc.key || found != tc.found {
			t.Errorf("%s: %q %v, want %q %v", tc.text, key, found, tc.key, tc.found)
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	for _, tc := range []struct {
		text   string
		offset int
		found  bool
	}{
		{`{"a":"é"}`, 0, false},
		{"{\"a\":\"x\xff\"}", 7, true},
		{"\xfe", 0, true},
	} {
		off, found := InvalidUTF8([]byte(tc.text))
		if off != tc.offset || found != tc.found {
			t.Errorf("%q: %d %v, want %d %v", tc.text, off, found, tc.offset, tc.found)
		}
	}
}

func FuzzRepeatedKey(f *testing.F) {
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{"a":[{"b":{"c":[1,2,{"d":1}]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		RepeatedKey(data) // never panics, on any input
		InvalidUTF8(data)
	})
}

// TestLoneSurrogate: an escape of a surrogate not in a pair is found at its backslash;
// a pair, an escaped backslash before "u", and text outside strings are not.
func TestLoneSurrogate(t *testing.T) {
	for _, tc := range []struct {
		text   string
		offset int
		found  bool
	}{
		{`{"a":"\u00e9"}`, 0, false},
		{`{"a":"\ud83d\ude00"}`, 0, false},
		{`{"a":"\uD83D\uDE00"}`, 0, false},
		{`{"a":"\udbff\udfff"}`, 0, false}, // U+10FFFF: the last high and low surrogates pair
		{`{"a":"\ud800\udc00"}`, 0, false}, // U+10000: the first
		{`{"a":"\\ud800"}`, 0, false},
		{`{"a":"x\ud800"}`, 7, true},
		{`{"a":"\ud800\u0041"}`, 6, true},
		{`{"a":"\udc00"}`, 6, true},
		{`{"a":"\ud83d\ude00\udc00"}`, 18, true},
		{`{"\udfff":1}`, 2, true},
		{`{"a":"\"\ud800"}`, 8, true},
	} {
		off, found := LoneSurrogate([]byte(tc.text))
		if off != tc.offset || found != tc.found {
			t.Errorf("%s: %d %v, want %d %v", tc.text, off, found, tc.offset, tc.found)
		}
	}
}
