package jsonpath

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// docValue opens src and returns its root as a Value selected from a Document.
func docValue(t *testing.T, src string) Value {
	t.Helper()
	d := NewDocument()
	if err := d.Reset([]byte(src)); err != nil {
		t.Fatalf("Reset(%s): %v", src, err)
	}
	return d.Root()
}

func TestValueKindAndAccessors(t *testing.T) {
	tests := []struct {
		src  string
		kind Kind
		str  string
		num  float64
		b    bool
		n    int
		want any
	}{
		{src: `null`, kind: KindNull},
		{src: `true`, kind: KindBool, b: true, want: true},
		{src: `false`, kind: KindBool, want: false},
		{src: `0`, kind: KindNumber, want: 0.0},
		{src: `-12.5e1`, kind: KindNumber, num: -125, want: -125.0},
		{src: `1E400`, kind: KindNumber, num: math.Inf(1), want: math.Inf(1)},
		{src: `"plain"`, kind: KindString, str: "plain", want: "plain"},
		{src: `"tab\tquote\"slash\/back\\nl\n"`, kind: KindString, str: "tab\tquote\"slash/back\\nl\n", want: "tab\tquote\"slash/back\\nl\n"},
		{src: `"\u00e9\u4e2d"`, kind: KindString, str: "é中", want: "é中"},
		{src: `"\ud83d\ude00 grin"`, kind: KindString, str: "😀 grin", want: "😀 grin"},
		{src: `"lone \ud800 high"`, kind: KindString, str: "lone \ufffd high", want: "lone \ufffd high"},
		{src: `"é raw"`, kind: KindString, str: "é raw", want: "é raw"},
		{src: `[1, "a", [true], {}]`, kind: KindArray, n: 4, want: []any{1.0, "a", []any{true}, map[string]any{}}},
		{src: `{"a": 1, "b\u0021": [null]}`, kind: KindObject, n: 2, want: map[string]any{"a": 1.0, "b!": []any{nil}}},
		{src: `[]`, kind: KindArray, want: []any{}},
	}
	for _, tt := range tests {
		v := docValue(t, tt.src)
		if v.Kind() != tt.kind {
			t.Errorf("%s: Kind = %v, want %v", tt.src, v.Kind(), tt.kind)
		}
		if v.Raw() != tt.src {
			t.Errorf("%s: Raw = %q", tt.src, v.Raw())
		}
		if got := v.Str(); got != tt.str {
			t.Errorf("%s: Str = %q, want %q", tt.src, got, tt.str)
		}
		if tt.kind == KindNumber && tt.num != 0 && v.Num() != tt.num {
			t.Errorf("%s: Num = %v, want %v", tt.src, v.Num(), tt.num)
		}
		if v.Bool() != tt.b {
			t.Errorf("%s: Bool = %v", tt.src, v.Bool())
		}
		if v.Len() != tt.n {
			t.Errorf("%s: Len = %d, want %d", tt.src, v.Len(), tt.n)
		}
		if got := v.Interface(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Interface = %#v, want %#v", tt.src, got, tt.want)
		}
	}
}

func TestValueElems(t *testing.T) {
	v := docValue(t, ` [ 1 , "two" , [3, [4]] , {"five": 5} ] `)
	var raws []string
	v.Elems(func(e Value) bool { raws = append(raws, e.Raw()); return true })
	want := []string{`1`, `"two"`, `[3, [4]]`, `{"five": 5}`}
	if !reflect.DeepEqual(raws, want) {
		t.Fatalf("Elems = %q, want %q", raws, want)
	}
	// An escaped quote or backslash does not end a string element.
	v2 := docValue(t, `["a\\", "b\"c", {"d\"": "\\"}, 2]`)
	raws = nil
	v2.Elems(func(e Value) bool { raws = append(raws, e.Raw()); return true })
	if want := []string{`"a\\"`, `"b\"c"`, `{"d\"": "\\"}`, `2`}; !reflect.DeepEqual(raws, want) {
		t.Fatalf("Elems = %q, want %q", raws, want)
	}
	// Stopping early is honoured.
	n := 0
	v.Elems(func(Value) bool { n++; return n < 2 })
	if n != 2 {
		t.Fatalf("Elems did not stop: %d calls", n)
	}
	// Elems of a non-array yields nothing.
	docValue(t, `{"a":1}`).Elems(func(Value) bool { t.Fatal("object has no elements"); return false })
}

func TestEqualCompare(t *testing.T) {
	tests := []struct {
		a, b  any // Go values for ValueOf, or a string starting with "json:" for document text
		equal bool
		cmp   int
		ok    bool
	}{
		{a: 1, b: 1.0, equal: true, cmp: 0, ok: true},
		{a: "json:1", b: "json:1.0", equal: true, cmp: 0, ok: true},
		{a: "json:100", b: "json:1e2", equal: true, cmp: 0, ok: true},
		{a: "json:-0", b: 0, equal: true, cmp: 0, ok: true},
		{a: 1, b: 2, cmp: -1, ok: true},
		{a: json.Number("2.5"), b: 2, cmp: 1, ok: true},
		{a: uint64(1 << 60), b: int64(1 << 60), equal: true, ok: true},
		// Beyond 2^53 integers are compared as float64: documented approximation.
		{a: "json:9007199254740993", b: "json:9007199254740992", equal: true, ok: true},
		{a: 1, b: "1"},
		{a: "json:\"1\"", b: "json:1"},
		{a: "a", b: "a", equal: true, ok: true},
		{a: "json:\"\\u0061\"", b: "a", equal: true, ok: true},
		{a: "a", b: "b", cmp: -1, ok: true},
		{a: "Z", b: "a", cmp: -1, ok: true},
		{a: "é", b: "z", cmp: 1, ok: true},       // U+00E9 > U+007A
		{a: "\uffff", b: "😀", cmp: -1, ok: true}, // code points, not UTF-16 units
		{a: "json:\"\\ud83d\\ude00\"", b: "😀", equal: true, ok: true},
		{a: true, b: true, equal: true},
		{a: true, b: false},
		{a: nil, b: nil, equal: true},
		{a: nil, b: false},
		{a: []any{1, "x"}, b: "json:[1.0, \"x\"]", equal: true},
		{a: []any{1, "x"}, b: "json:[\"x\", 1]"},
		{a: []any{1}, b: "json:[1, 1]"},
		{a: map[string]any{"a": 1, "b": []any{true}}, b: "json:{\"b\": [true], \"a\": 1.0}", equal: true},
		{a: map[string]any{"a": 1}, b: "json:{\"a\": 1, \"b\": 2}"},
		{a: map[string]any{"a": 1}, b: "json:{\"a\": \"1\"}"},
		{a: map[string]any{}, b: "json:[]"},
		// A repeated name counts once, with its first value, as lookups see it; and the
		// members after a repeated one are still compared.
		{a: "json:{\"a\": 1, \"a\": 2}", b: "json:{\"a\": 1}", equal: true},
		{a: "json:{\"x\": 1, \"x\": 2, \"y\": 1}", b: "json:{\"x\": 1, \"y\": 2}"},
		// Beyond smallObject members objects are matched through maps: one holding
		// every member of the other and one more is not equal to it.
		{a: bigObject(17), b: bigObject(18)},
		{a: bigObject(17), b: bigObject(17), equal: true},
		// Names past the fingerprint's length field (0x7fff bytes) are looked up by the
		// same capped fingerprint the index holds for them.
		// (The member after the long one keeps its closing quote out of the last
		// eight bytes, where the scanner reads names as escaped ones.)
		{a: map[string]any{longName: 1, "z": "zzzzzzzzzzzz"}, b: map[string]any{longName: 2, "z": "zzzzzzzzzzzz"}},
		{a: map[string]any{longName: 1, "z": "zzzzzzzzzzzz"}, b: "json:{\"z\": \"zzzzzzzzzzzz\", \"" + longName + "\": 1.0}", equal: true},
		{a: []string{"x", "y"}, b: "json:[\"x\",\"y\"]", equal: true},
	}
	val := func(x any) Value {
		if s, ok := x.(string); ok && len(s) > 5 && s[:5] == "json:" {
			return docValue(t, s[5:])
		}
		v, err := ValueOf(x)
		if err != nil {
			t.Fatalf("ValueOf(%#v): %v", x, err)
		}
		return v
	}
	for _, tt := range tests {
		a, b := val(tt.a), val(tt.b)
		if got := Equal(a, b); got != tt.equal {
			t.Errorf("Equal(%s, %s) = %v, want %v", a.Raw(), b.Raw(), got, tt.equal)
		}
		if got := Equal(b, a); got != tt.equal {
			t.Errorf("Equal(%s, %s) = %v, want %v (symmetry)", b.Raw(), a.Raw(), got, tt.equal)
		}
		c, ok := Compare(a, b)
		if ok != tt.ok || (ok && c != tt.cmp) {
			t.Errorf("Compare(%s, %s) = %d, %v; want %d, %v", a.Raw(), b.Raw(), c, ok, tt.cmp, tt.ok)
		}
		if c2, ok2 := Compare(b, a); ok2 != ok || c2 != -c {
			t.Errorf("Compare(%s, %s) = %d, %v; not the reverse of %d", b.Raw(), a.Raw(), c2, ok2, c)
		}
	}
	if Equal(Value{}, Value{}) {
		t.Error("zero Values must not be equal: they are not JSON values")
	}
}

var longName = strings.Repeat("n", 0x7fff+10)

// bigObject is an object of n members k0…k(n-1), all 1.
func bigObject(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m["k"+strconv.Itoa(i)] = 1
	}
	return m
}

func TestValueOf(t *testing.T) {
	type custom struct{}
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	tests := []struct {
		in      any
		raw     string
		kind    Kind
		wantErr bool
	}{
		{in: nil, raw: `null`, kind: KindNull},
		{in: true, raw: `true`, kind: KindBool},
		{in: 42, raw: `42`, kind: KindNumber},
		{in: int8(-8), raw: `-8`, kind: KindNumber},
		{in: uint32(7), raw: `7`, kind: KindNumber},
		{in: 2.5, raw: `2.5`, kind: KindNumber},
		{in: float32(0.5), raw: `0.5`, kind: KindNumber},
		{in: 1e300, raw: `1e+300`, kind: KindNumber},
		{in: 3.0, raw: `3`, kind: KindNumber},
		{in: json.Number("1e3"), raw: `1e3`, kind: KindNumber},
		{in: "a\"b\\c\n\x01é", raw: `"a\"b\\c\n\u0001é"`, kind: KindString},
		{in: []any{1, "x", nil}, raw: `[1,"x",null]`, kind: KindArray},
		{in: map[string]any{"b": 1, "a": []any{}}, raw: `{"a":[],"b":1}`, kind: KindObject},
		{in: map[string]string{"k": "v"}, raw: `{"k":"v"}`, kind: KindObject},
		{in: math.NaN(), wantErr: true},
		{in: math.Inf(-1), wantErr: true},
		{in: json.Number("01"), wantErr: true},
		{in: json.Number("abc"), wantErr: true},
		{in: custom{}, wantErr: true},
		{in: cyclic, wantErr: true},
		{in: Value{}, wantErr: true},
	}
	for _, tt := range tests {
		v, err := ValueOf(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ValueOf(%#v) = %s, want an error", tt.in, v.Raw())
			}
			continue
		}
		if err != nil {
			t.Errorf("ValueOf(%#v): %v", tt.in, err)
			continue
		}
		if v.Raw() != tt.raw || v.Kind() != tt.kind {
			t.Errorf("ValueOf(%#v) = %s (%v), want %s (%v)", tt.in, v.Raw(), v.Kind(), tt.raw, tt.kind)
		}
		// A constant must round-trip through a document unchanged.
		if !Equal(v, docValue(t, v.Raw())) {
			t.Errorf("ValueOf(%#v) differs from its own text", tt.in)
		}
	}
	if s := MustValueOf("a\"b").Str(); s != "a\"b" {
		t.Errorf("Str of an escaped constant = %q", s)
	}
}

func TestNumMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	check := func(s string) {
		t.Helper()
		want, _ := strconv.ParseFloat(s, 64)
		got := Value{raw: s, kind: KindNumber}.Num()
		if got != want || math.Signbit(got) != math.Signbit(want) {
			t.Fatalf("Num(%s) = %v, want %v", s, got, want)
		}
	}
	for _, s := range []string{"0", "-0", "-0.0", "1", "12.5", "0.1", "0.3", "123456789012345", "1234567890123456",
		"9007199254740993", "0.000000000000001", "1.7976931348623157", "4.35", "99.99", "1e2", "1E-2", "-7.5e+3"} {
		check(s)
	}
	for i := 0; i < 200_000; i++ {
		var b []byte
		if rng.IntN(2) == 0 {
			b = append(b, '-')
		}
		b = strconv.AppendUint(b, rng.Uint64N(1<<uint(rng.IntN(60)+1)), 10)
		if rng.IntN(2) == 0 {
			b = append(b, '.')
			for n := 1 + rng.IntN(18); n > 0; n-- {
				b = append(b, byte('0'+rng.IntN(10)))
			}
		}
		check(string(b))
	}
}
