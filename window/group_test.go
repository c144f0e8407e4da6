package window_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestValueKeyEquality checks that canonical keys are equal exactly when the values
// are equal JSON values, as the rule language compares them.
func TestValueKeyEquality(t *testing.T) {
	tests := []struct {
		a, b  string
		equal bool
	}{
		{`1`, `1.0`, true},
		{`1`, `1e0`, true},
		{`100`, `1E2`, true},
		{`0`, `-0`, true},
		{`0.1`, `1e-1`, true},
		{`1`, `2`, false},
		{`1`, `"1"`, false},
		{`"a"`, `"\u0061"`, true},
		{`"é"`, `"\u00e9"`, true},
		{`"a"`, `"A"`, false},
		{`""`, `null`, false},
		{`null`, ``, true}, // nothing selected groups as null
		{`false`, `null`, false},
		{`true`, `false`, false},
		{`{"a":1,"b":2}`, `{"b":2,"a":1}`, true},
		{`{"a":{"x":1,"y":[1,2]},"b":2}`, `{"b":2.0,"a":{"y":[1,2],"x":1}}`, true},
		{`{"a":1,"a":2}`, `{"a":1}`, true}, // a repeated name resolves to the first
		{`{"a":1}`, `{"a":1,"b":null}`, false},
		{`[1,2]`, `[1.0,2]`, true},
		{`[1,2]`, `[2,1]`, false},
		{`[]`, `{}`, false},
		{`[[]]`, `[]`, false},
		{`["a","b"]`, `["ab"]`, false},
		// 2^53+1 rounds to 2^53 itself: the float64 at the bound is already inexact.
		{`9007199254740992`, `9007199254740993`, false},
		{`-9007199254740992`, `-9007199254740993`, false},
		{`9007199254740992`, `9007199254740992.0`, true},
	}
	for _, tt := range tests {
		ka := window.AppendValueKey(nil, jsonValue(tt.a))
		kb := window.AppendValueKey(nil, jsonValue(tt.b))
		if got := bytes.Equal(ka, kb); got != tt.equal {
			t.Errorf("key(%s) == key(%s): %v, want %v (%q, %q)", tt.a, tt.b, got, tt.equal, ka, kb)
		}
	}
	// A tuple key is prefix-free: values never run into one another.
	if gk(`"a"`, `"bc"`) == gk(`"ab"`, `"c"`) {
		t.Error(`("a","bc") and ("ab","c") have one key`)
	}
	// AppendValueKey appends: a key built value by value is the tuple's.
	if k := window.AppendValueKey([]byte("x"), jsonValue(`1`)); !bytes.HasPrefix(k, []byte("x")) {
		t.Errorf("AppendValueKey dropped dst: %q", k)
	}
}

// TestGroupJSON checks the alert's group object: each path's value as encoding/json
// writes it, objects' members in name order, and errors for keys AppendValueKey did not
// write.
func TestGroupJSON(t *testing.T) {
	tests := []struct {
		name   string
		paths  []string
		values []string
		want   map[string]string
	}{
		{"no group_by", nil, nil, nil},
		{"numbers are normalised", []string{"$.a", "$.b", "$.c"}, []string{`1.0`, `-0`, `1e21`},
			map[string]string{"$.a": `1`, "$.b": `0`, "$.c": `1e+21`}},
		{"strings escaped as encoding/json does", []string{"$.s"}, []string{`"<a\"b>\u2028"`},
			map[string]string{"$.s": `"\u003ca\"b\u003e\u2028"`}},
		{"objects sorted, arrays in order", []string{"$.o"}, []string{`{"z":[2,1],"a":{"y":true,"x":null}}`},
			map[string]string{"$.o": `{"a":{"x":null,"y":true},"z":[2,1]}`}},
		{"nothing selected is null", []string{"$.a", "$.b"}, []string{``, `false`},
			map[string]string{"$.a": `null`, "$.b": `false`}},
		// ±Inf to the rule language: written as JSON numbers beyond float64, not as
		// "+Inf", which would make the alert record invalid JSON.
		{"numbers beyond float64", []string{"$.a", "$.b"}, []string{`1e400`, `-1e500`},
			map[string]string{"$.a": `1e999`, "$.b": `-1e999`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := window.GroupJSON(tt.paths, []byte(gk(tt.values...)))
			if err != nil {
				t.Fatal(err)
			}
			gotText := map[string]string{}
			for k, v := range got {
				gotText[k] = string(v)
				if !json.Valid(v) {
					t.Errorf("%s: %s is not JSON", k, v)
				}
			}
			if tt.want == nil && got != nil || !maps.Equal(gotText, tt.want) {
				t.Errorf("GroupJSON = %v, want %v", gotText, tt.want)
			}
		})
	}

	bad := []struct {
		name  string
		paths []string
		key   string
	}{
		{"empty key", []string{"$.a"}, ""},
		{"fewer values than paths", []string{"$.a", "$.b"}, gk(`1`)},
		{"more values than paths", []string{"$.a"}, gk(`1`, `2`)},
		{"short number", []string{"$.a"}, gk(`1`)[:5]},
		{"string beyond the key", []string{"$.a"}, "s\x05ab"},
		{"array count beyond the key", []string{"$.a"}, "a\x09n"},
		{"unknown tag", []string{"$.a"}, "x"},
		{"NaN, which JSON has not", []string{"$.a"}, "d\x7f\xf8\x00\x00\x00\x00\x00\x01"},
		{"bad varint", []string{"$.a"}, "s\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			got, err := window.GroupJSON(tt.paths, []byte(tt.key))
			if err == nil || err.Error() != "window: malformed canonical key" {
				t.Errorf("GroupJSON(%q) = %v, %v; want the malformed key error", tt.key, got, err)
			}
		})
	}
}

// TestGroups checks how Add groups events: by the JSON value of each group_by path's
// first node (null when none), separately per customer.
func TestGroups(t *testing.T) {
	type gc struct {
		Customer string
		Group    string
		Count    int64
	}
	tests := []struct {
		name    string
		groupBy string
		events  []in
		want    []gc
	}{
		{"numbers by value", `["$.g"]`,
			[]in{{"c", `{"g":1}`, 0}, {"c", `{"g":1.0}`, 0}, {"c", `{"g":1e0}`, 0}, {"c", `{"g":"1"}`, 0}},
			[]gc{{"c", gk(`1`), 3}, {"c", gk(`"1"`), 1}}},
		{"objects by member, in any order", `["$.g"]`,
			[]in{{"c", `{"g":{"a":1,"b":[1,2]}}`, 0}, {"c", `{"g":{"b":[1,2],"a":1}}`, 0}, {"c", `{"g":{"a":1}}`, 0}},
			[]gc{{"c", gk(`{"a":1}`), 1}, {"c", gk(`{"a":1,"b":[1,2]}`), 2}}},
		{"missing and null are one group", `["$.g"]`,
			[]in{{"c", `{}`, 0}, {"c", `{"g":null}`, 0}, {"c", `{"g":{}}`, 0}},
			[]gc{{"c", gk(`null`), 2}, {"c", gk(`{}`), 1}}},
		{"groups never cross customers", `["$.g"]`,
			[]in{{"c1", `{"g":"x"}`, 0}, {"c2", `{"g":"x"}`, 0}, {"c1", `{"g":"x"}`, 0}},
			[]gc{{"c1", gk(`"x"`), 2}, {"c2", gk(`"x"`), 1}}},
		// A customer name that looks like another's name plus group key bytes must not
		// meet it: ids are length-prefixed.
		{"customer and key do not run together", `["$.g"]`,
			[]in{{"a", `{"g":"s"}`, 0}, {"a" + gk(`"s"`)[:1], `{"g":""}`, 0}},
			[]gc{{"a", gk(`"s"`), 1}, {"a" + gk(`"s"`)[:1], gk(`""`), 1}}},
		{"a tuple of paths", `["$.a","$.b"]`,
			[]in{{"c", `{"a":1,"b":"x"}`, 0}, {"c", `{"b":"x","a":1}`, 0}, {"c", `{"a":1}`, 0}, {"c", `{"b":"x"}`, 0}},
			[]gc{{"c", gk(`1`, `"x"`), 2}, {"c", gk(`1`, `null`), 1}, {"c", gk(`null`, `"x"`), 1}}},
		{"first node of several", `["$.g[*]"]`,
			[]in{{"c", `{"g":[1,2]}`, 0}, {"c", `{"g":[1]}`, 0}, {"c", `{"g":[]}`, 0}},
			[]gc{{"c", gk(`1`), 2}, {"c", gk(`null`), 1}}},
		{"without group_by one group per customer", `[]`,
			[]in{{"c1", `{"g":1}`, 0}, {"c1", `{"g":2}`, 0}, {"c2", `{}`, 0}},
			[]gc{{"c1", "", 2}, {"c2", "", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRule(t, `"window":{"size":"1h"},"threshold":1e9,"group_by":`+tt.groupBy)
			st, _ := run(t, r, window.Limits{}, tt.events...)
			var got []gc
			for _, w := range st.Windows("") {
				got = append(got, gc{w.Customer, string(w.Group), w.Count})
			}
			sortGC := func(a, b gc) int {
				if a.Customer != b.Customer {
					return strings.Compare(a.Customer, b.Customer)
				}
				return strings.Compare(a.Group, b.Group)
			}
			slices.SortFunc(got, sortGC)
			want := slices.SortedFunc(slices.Values(tt.want), sortGC)
			if !slices.Equal(got, want) {
				t.Errorf("groups %+v, want %+v", got, want)
			}
			if st.GroupCount() != len(want) {
				t.Errorf("GroupCount %d, want %d", st.GroupCount(), len(want))
			}
			// Windows(customer) lists that customer's groups only.
			for _, w := range st.Windows("c1") {
				if w.Customer != "c1" {
					t.Errorf("Windows(c1) lists %q's window", w.Customer)
				}
			}
			// Customers lists each customer with open windows once.
			seen := map[string]int{}
			st.Customers(func(c string) { seen[c]++ })
			for _, g := range want {
				if seen[g.Customer] != 1 {
					t.Errorf("Customers listed %q %d times, want once", g.Customer, seen[g.Customer])
				}
			}
		})
	}
}

// errorsIsCorrupt is errors.Is(err, window.ErrCorrupt).
func errorsIsCorrupt(err error) bool { return errors.Is(err, window.ErrCorrupt) }
