package console

import (
	"strings"
	"testing"
)

// TestDecodeCursorRefusesFieldsItDidNotWrite: a cursor is what encodeCursor wrote for
// its listing, field for field; one holding more fields than the listing's, or an
// empty last field (a windows customer or a mute id, which no row has empty), is not
// one this API gave, and is refused saying so rather than read from part of it.
func TestDecodeCursorRefusesFieldsItDidNotWrite(t *testing.T) {
	if got, err := decodeCursor(encodeCursor(cursorWindows, "*", "r", "c-1"), cursorWindows, 3); err != nil || strings.Join(got, "|") != "*|r|c-1" {
		t.Fatalf("a cursor as written: %q, %v; want *|r|c-1", got, err)
	}
	for _, tc := range []struct {
		name, cursor, want string
	}{
		{"a field more", encodeCursor(cursorWindows, "*", "r", "c-1", "extra"), "it holds 4 fields, not 3"},
		{"a field fewer", encodeCursor(cursorWindows, "*", "r"), "it holds 2 fields, not 3"},
		{"an empty last field", encodeCursor(cursorWindows, "*", "r", ""), "its last field is empty"},
	} {
		if got, err := decodeCursor(tc.cursor, cursorWindows, 3); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q, %v; want an error saying %q", tc.name, got, err, tc.want)
		}
	}
}
