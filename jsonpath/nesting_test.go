package jsonpath

import (
	"strings"
	"testing"
)

// TestNestingLimitMessages: every nesting limit's error names the limit and its value,
// because the text travels: a document's becomes the error header of a dead-lettered
// event, a filter's a rule's validation problem.
func TestNestingLimitMessages(t *testing.T) {
	deepValue := any("x")
	for range MaxDepth + 1 {
		deepValue = []any{deepValue}
	}
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"document", func() error {
			return NewDocument().Reset(nested("[", "]", MaxDepth+1, ""))
		}, "jsonpath: invalid JSON at byte offset 1000: nesting deeper than 1000 levels (limit jsonpath.MaxDepth)"},
		{"filter", func() error {
			_, err := Parse("$[?" + strings.Repeat("(", 70) + "@.a" + strings.Repeat(")", 70) + "]")
			return err
		}, `jsonpath: filter nested deeper than 64 levels (limit jsonpath.MaxFilterDepth) at column 68 in "$[?((((`},
		{"Go value", func() error {
			_, err := ValueOf(deepValue)
			return err
		}, "jsonpath: value nested deeper than 1000 levels (limit jsonpath.MaxDepth; cyclic?)"},
	}
	for _, tt := range tests {
		err := tt.err()
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: error %.200v; want one starting %q", tt.name, err, tt.want)
		}
	}
}
