package rule

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bytedance/sonic/decoder"
)

// syntaxMessage says where and why text is not JSON, for a syntax error of sonic's (ok
// is false for any other error). sonic's own message misplaces it: it pads its input,
// so text that ends too soon ("[") was "at index 5", four bytes past the end, with the
// caret at column 0; a byte no value starts with ("\xff") was named a byte after it; and
// empty text gave a dump of the error's fields. The index is reckoned again by
// encoding/json, which reads the text as given, and always lies within it: the byte at
// fault, or the text's length when it ends too soon.
func syntaxMessage(err error) (msg string, ok bool) {
	var se decoder.SyntaxError
	if !errors.As(err, &se) {
		return "", false
	}
	src := se.Src
	if strings.TrimSpace(src) == "" {
		return "the text is empty, where a JSON value is expected", true
	}
	var je *json.SyntaxError
	if jerr := json.Unmarshal([]byte(src), new(any)); errors.As(jerr, &je) {
		if je.Offset >= int64(len(src)) && strings.Contains(je.Error(), "end of JSON input") {
			return fmt.Sprintf("Syntax error at index %d: the text ends before its JSON does", len(src)), true
		}
		// Offset counts the bytes read, the one at fault included.
		return fmt.Sprintf("Syntax error at index %d: %s", max(0, min(int(je.Offset)-1, len(src)-1)), je.Error()), true
	}
	// encoding/json takes text sonic refuses: sonic's reason, at a place in the text.
	return fmt.Sprintf("Syntax error at index %d: %s", max(0, min(se.Pos, len(src))), se.Message()), true
}
