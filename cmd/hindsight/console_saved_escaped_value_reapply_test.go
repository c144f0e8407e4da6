package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestConsoleSavedEscapedValueReappliesUnchanged: a rule saved through the console by
// a script whose JSON escapes non-ASCII text (Python's json.dumps does: "caf\u00e9"),
// then written to a rules file, as `rules list --json` lists it or as a person writes
// it, is the same rule: `rules apply` must say "unchanged". The engine keeps a
// condition's value as the JSON text it was given, while a rules file's value is
// re-encoded from YAML ("café"): the same rule differs, and apply refuses it as
// changed without a newer version (raising the version publishes a spurious one).
func TestConsoleSavedEscapedValueReappliesUnchanged(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	saved := `{"id":"cafe","scope":"*","when":{"path":"$.shop","op":"==","value":"caf\u00e9"},"threshold":3}`
	body, _ := json.Marshal(map[string]any{"rule": json.RawMessage(saved), "wait_ms": 20000})
	resp, err := http.Post("http://"+d.HTTPAddr()+"/v1/console/rules", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("save: %d %s", resp.StatusCode, got)
	}
	out, err := run(t, "", "rules", "list", "--json", "--brokers", b.Addr)
	if err != nil {
		t.Fatalf("list: %v\n%s", err, out)
	}
	var list struct {
		Rules []struct {
			Rule json.RawMessage `json:"rule"`
		} `json:"rules"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Rules) != 1 {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	var listed bytes.Buffer
	_ = json.Compact(&listed, list.Rules[0].Rule)
	for _, tc := range []struct{ name, file string }{
		{"as rules list --json lists it", "- " + listed.String() + "\n"},
		{"as a person writes it", "- id: cafe\n  scope: \"*\"\n  when: {path: $.shop, op: ==, value: café}\n  threshold: 3\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "rules.yaml")
			if err := os.WriteFile(file, []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := run(t, "", "rules", "apply", "-f", file, "--brokers", b.Addr)
			if err != nil || !strings.Contains(out, "unchanged") {
				t.Errorf("rules apply of the rule the console saved (file %q): %v\n%s", tc.file, err, out)
			}
		})
	}
}
