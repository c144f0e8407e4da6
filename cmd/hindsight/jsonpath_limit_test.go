package main

import (
	"strings"
	"testing"
)

// hindsight jsonpath read its document with io.ReadAll, without a bound: a stream of
// any length was read into memory whole. It reads at most --max-document-bytes
// (default 16 MiB, lines.DefaultMax, as --max-line-bytes), and a longer document is
// refused, exit status 2, with an error naming the limit; one of exactly the limit is
// read.
func TestJSONPathRefusesADocumentOverTheLimit(t *testing.T) {
	t.Parallel()
	const limit = 16 << 20
	over := `{"a":"` + strings.Repeat("x", limit-len(`{"a":""}`)+1) + `"}` // limit+1 bytes
	out, err := run(t, over, "jsonpath", "-c", "$.b")
	if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), "more than --max-document-bytes 16777216") {
		t.Errorf("a document of %d bytes: exit status %d (%v), want 2 naming --max-document-bytes 16777216; output %.200s", len(over), exitCode(err), err, out)
	}
	out, err = run(t, over[:len(over)-3]+`"}`, "jsonpath", "-c", "$.b") // exactly the limit
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("a document of exactly %d bytes: %v, output %.200s", limit, err, out)
	}
	out, err = run(t, `{"a":"0123456789"}`, "jsonpath", "--max-document-bytes", "10", "-c", "$.a")
	if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), "more than --max-document-bytes 10") {
		t.Errorf("--max-document-bytes 10: exit status %d (%v), want 2 naming the limit; output %s", exitCode(err), err, out)
	}
	if out, err := run(t, `{"a":1}`, "jsonpath", "--max-document-bytes", "7", "-c", "$.a"); err != nil || strings.TrimSpace(out) != "[1]" {
		t.Errorf("--max-document-bytes 7 on 7 bytes: %v, output %s", err, out)
	}
	help, err := run(t, "", "jsonpath", "--help")
	if err != nil || !strings.Contains(help, "--max-document-bytes int") || !strings.Contains(help, "(default 16777216)") {
		t.Errorf("jsonpath --help (%v) does not give --max-document-bytes and its default:\n%s", err, help)
	}
}
