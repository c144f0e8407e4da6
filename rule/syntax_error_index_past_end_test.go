package rule

import (
	"regexp"
	"strconv"
	"testing"
)

// TestRuleSyntaxErrorIndexWithinText: a rule or control that is not JSON is refused
// with the position of the problem, and that position lies in the text sent. For text
// that ends too soon, the message named an index four bytes past its end ("[" of one
// byte: "Syntax error at index 5"): a client looking there finds nothing.
func TestRuleSyntaxErrorIndexWithinText(t *testing.T) {
	mustLimits(t)
	at := regexp.MustCompile(`at index (\d+)`)
	for _, text := range []string{
		`[`,
		`{"id":"a","scope":"*","threshold":[`,
		`{"id":"a","scope":"*","threshold":1,"when":{"path":"$.a"`,
	} {
		for name, parse := range map[string]func([]byte) error{
			"ParseRule":    func(b []byte) error { _, err := ParseRule(b); return err },
			"ParseControl": func(b []byte) error { _, err := ParseControl([]byte(`{"op":"upsert","rule":` + string(b))); return err },
		} {
			err := parse([]byte(text))
			if err == nil {
				t.Fatalf("%s(%s) accepted", name, text)
			}
			n := len(text)
			if name == "ParseControl" {
				n += len(`{"op":"upsert","rule":`)
			}
			m := at.FindStringSubmatch(err.Error())
			if m == nil {
				continue
			}
			if i, _ := strconv.Atoi(m[1]); i > n {
				t.Errorf("%s of %d bytes: %v — index %d is past the end", name, n, err, i)
			}
		}
	}
}
