package rule

import (
	"strings"
	"testing"
)

// TestIntTagOverflowNamesTheWrittenNumber: `value: !!int 99999999999999999999` is
// refused as beyond 2^53, but the message names 9223372036854775807, a number the file
// never wrote (the decoder clamped the text to int64's largest): the author looks for
// it and finds nothing. The message must name what was written (or say it overflows).
func TestIntTagOverflowNamesTheWrittenNumber(t *testing.T) {
	mustLimits(t)
	_, err := ParseRulesFile("rules.yaml", []byte("rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.v, op: ==, value: !!int 99999999999999999999}\n    threshold: 1\n"))
	if err == nil {
		t.Fatal("accepted")
	}
	if strings.Contains(err.Error(), "9223372036854775807") || !strings.Contains(err.Error(), "99999999999999999999") {
		t.Errorf("the error names another number than the file wrote: %v", err)
	}
}
