package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLakeCompactJSONIsJSON: --json is a flag of every `hindsight lake` subcommand
// ("print JSON instead of a table", listed under compact's Global Flags), and `lake ls`
// and `lake stats` honour it; `lake compact --json` accepts it and prints its text
// line: a script piping it to a JSON parser failed. It prints the report as JSON.
func TestLakeCompactJSONIsJSON(t *testing.T) {
	t.Parallel()
	url := manifestOnlyLake(t)
	out, err := run(t, "", "lake", "compact", "--json", "--lake", url)
	if err != nil {
		t.Fatalf("lake compact --json: %v\n%s", err, out)
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Errorf("lake compact --json printed no JSON (%v):\n%s", err, out)
	}
}

// TestLakeLsNegativePartitionIsRefused: README: "A numeric flag of any command given a
// negative value ... is refused, exit status 2, unless its help says what a negative
// value means". `lake ls --partition` (numbers: "only these partitions") gives negative
// no meaning, yet --partition -1 runs and reports "0 files", exit 0, as if the lake
// held nothing there.
func TestLakeLsNegativePartitionIsRefused(t *testing.T) {
	t.Parallel()
	url := manifestOnlyLake(t)
	out, err := run(t, "", "lake", "ls", "--partition", "-1", "--lake", url)
	if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Errorf("lake ls --partition -1: exit %d (%v), want 2, must not be negative\n%s", exitCode(err), err, out)
	}
}
