package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the root command in-process with args and stdin.
func run(t *testing.T, stdin string, args ...string) (stdout string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err = execute(context.Background(), cmd, args)
	return out.String(), err
}

func exitCode(err error) int {
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

func TestJSONPathCommand(t *testing.T) {
	t.Parallel()
	doc := `{"store":{"book":[{"category":"fiction","price":8.99,"title":"A"},{"category":"reference","price":12,"title":"B"},{"category":"fiction","price":22.5,"title":"C"}]}}`
	file := filepath.Join(t.TempDir(), "doc.json")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		stdin   string
		want    string // JSON, compared as values (as text with exact)
		code    int
		errWant string
		exact   bool
	}{
		{"jayway filter from a file", []string{"jsonpath", "-c", "$.store.book[?(@.category == 'fiction')].price", file}, "", `[8.99,22.5]`, 0, "", false},
		{"stdin", []string{"jsonpath", "$..title"}, doc, `["A","B","C"]`, 0, "", false},
		{"nothing selected", []string{"jsonpath", "$.nope"}, doc, `[]`, 0, "", false},
		{"invalid path has a column", []string{"jsonpath", "$.store[?@.price <]"}, doc, "", 2, "column 19", false},
		{"invalid document", []string{"jsonpath", "$.a"}, `{"a":`, "", 2, "invalid JSON", false},
		// Values as the document has them, which is what rules read: decoded, the last
		// of duplicate keys would show where rules read the first, and a number beyond
		// float64 would print as null or fail.
		{"duplicate keys as the document has them", []string{"jsonpath", "-c", "$.a"}, `{"a":{"b":1,"b":2}}`, `[{"b":1,"b":2}]`, 0, "", true},
		{"rules read the first duplicate", []string{"jsonpath", "-c", "$.a.b"}, `{"a":{"b":1,"b":2}}`, `[1]`, 0, "", true},
		{"a number beyond float64 inside an array", []string{"jsonpath", "-c", "$.a"}, `{"a":[1,{"b":1e400}]}`, `[[1,{"b":1e400}]]`, 0, "", true},
		{"a number beyond float64", []string{"jsonpath", "-c", "$.b"}, `{"b":1e400}`, `[1e400]`, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, tt.stdin, tt.args...)
			if code := exitCode(err); code != tt.code {
				t.Fatalf("exit %d (%v), want %d; output %s", code, err, tt.code, out)
			}
			if tt.errWant != "" {
				if !strings.Contains(err.Error(), tt.errWant) {
					t.Fatalf("error %q lacks %q", err, tt.errWant)
				}
				return
			}
			if tt.exact {
				if got := strings.TrimSpace(out); got != tt.want {
					t.Fatalf("got %s, want %s", got, tt.want)
				}
				return
			}
			var got, want any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			_ = json.Unmarshal([]byte(tt.want), &want)
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if !bytes.Equal(g, w) {
				t.Fatalf("got %s, want %s", g, w)
			}
		})
	}
}

func TestRulesTestCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte(`
- id: fails
  scope: "*"
  threshold: 2
  when: {path: $.type, op: ==, value: login.failed}
- id: mine
  scope: c-2
  threshold: 1
  when: {path: $.type}
`), 0o644)
	events := `{"customer":"c-1","type":"login.failed"}
{"customer":"c-2","type":"login.failed"}
{"customer":"c-1","type":"login.failed"}
not json
`
	out, err := run(t, events, "rules", "test", "-f", rules)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{
		"stdin:1: customer c-1: */fails@v1\n",
		"stdin:2: customer c-2: */fails@v1, c-2/mine@v1\n",
		"stdin:4: skipped: jsonpath: invalid JSON",
		"4 events (1 skipped), 2 rules",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(out, "c-1 (2)") {
		t.Errorf("summary does not show c-1 reaching the threshold:\n%s", out)
	}
	os.WriteFile(rules, []byte("- id: x\n  scope: '*'\n  threshold: 1\n  when: {path: '$['}\n"), 0o644)
	_, err = run(t, events, "rules", "test", "-f", rules)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "rules.yaml:1: rule #1 (id \"x\")") {
		t.Fatalf("invalid rules file: exit %d, %v", exitCode(err), err)
	}
}

// TestVersionCommand: version names the Go and DuckDB versions this binary runs.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	out, err := run(t, "", "version")
	if err != nil || !strings.Contains(out, "hindsight ") || !strings.Contains(out, "go        go1.") || !strings.Contains(out, "duckdb    v1.") {
		t.Errorf("version: %v\n%s", err, out)
	}
}

// noBroker is a loopback address where nothing listens: a broker that does not
// answer, for checks that must come before any broker is asked.
func noBroker(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
