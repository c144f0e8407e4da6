package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeBlocks are the README's shell blocks marked runnable: "runnable" ones run
// alone, "runnable with live" ones against a daemon.
var readmeBlocks = regexp.MustCompile("(?s)<!-- (runnable|runnable with live) -->\n```sh\n(.*?)```")

// readmeCommand is one line of a runnable README block, as the test runs it.
type readmeCommand struct {
	line string   // as the README writes it
	run  string   // what bash runs: line, a live block's fixed addresses replaced
	env  []string // added to the environment: a live block's HINDSIGHT_BROKERS
}

// readmeCommands is the runnable lines of readme, in order. Every line of a block
// marked "runnable with live" has the fixed addresses (127.0.0.1:9092, 127.0.0.1:8080)
// replaced by those live returns, and kcat by kcatBin; live is called once, at the
// first such block, since one daemon serves them all.
func readmeCommands(readme string, live func() (broker, httpAddr string), kcatBin string) []readmeCommand {
	var (
		cmds     []readmeCommand
		liveRepl *strings.Replacer
		liveEnv  []string
	)
	for _, b := range readmeBlocks.FindAllStringSubmatch(readme, -1) {
		replace, env := strings.NewReplacer(), []string(nil)
		if b[1] == "runnable with live" {
			if liveRepl == nil {
				broker, httpAddr := live()
				liveRepl = strings.NewReplacer("127.0.0.1:9092", broker, "127.0.0.1:8080", httpAddr, "kcat ", kcatBin+" ")
				liveEnv = []string{"HINDSIGHT_BROKERS=" + broker}
			}
			replace, env = liveRepl, liveEnv
		}
		for _, line := range strings.Split(strings.TrimSpace(b[2]), "\n") {
			if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			cmds = append(cmds, readmeCommand{line: line, run: replace.Replace(line), env: env})
		}
	}
	return cmds
}

// TestReadmeCommandsAddressEveryLiveBlock: the second block marked "runnable with live"
// of a README ran against the README's fixed addresses, 127.0.0.1:9092 and :8080, and
// without HINDSIGHT_BROKERS: the daemon's ports were given to the first block alone (the
// replacement was reset for each block, and set only when the daemon started), so a
// second block would have failed, or reached whatever else listened there.
func TestReadmeCommandsAddressEveryLiveBlock(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("testdata", "readme-two-live-blocks.md"))
	if err != nil {
		t.Fatal(err)
	}
	started := 0
	cmds := readmeCommands(string(readme), func() (string, string) {
		started++
		return "127.0.0.1:40001", "127.0.0.1:40002"
	}, "/opt/kcat")
	want := []readmeCommand{
		{line: "hindsight rules list --brokers 127.0.0.1:9092", run: "hindsight rules list --brokers 127.0.0.1:40001", env: []string{"HINDSIGHT_BROKERS=127.0.0.1:40001"}},
		{line: "hindsight jsonpath '$.type' testdata/events/event.json", run: "hindsight jsonpath '$.type' testdata/events/event.json"},
		{line: "curl -s 127.0.0.1:8080/v1/rules", run: "curl -s 127.0.0.1:40002/v1/rules", env: []string{"HINDSIGHT_BROKERS=127.0.0.1:40001"}},
		{line: "kcat -b 127.0.0.1:9092 -L", run: "/opt/kcat -b 127.0.0.1:40001 -L", env: []string{"HINDSIGHT_BROKERS=127.0.0.1:40001"}},
	}
	if started != 1 {
		t.Errorf("the daemon started %d times for two live blocks, want once", started)
	}
	if len(cmds) != len(want) {
		t.Fatalf("%d commands, want %d: %+v", len(cmds), len(want), cmds)
	}
	for i, c := range cmds {
		if c.line != want[i].line || c.run != want[i].run || strings.Join(c.env, " ") != strings.Join(want[i].env, " ") {
			t.Errorf("command %d: runs %q with env %q, want %q with %q", i, c.run, c.env, want[i].run, want[i].env)
		}
	}
}

// readmeSays is what the README says some of its runnable lines print (keyed by the
// line up to its comment), in the words of the line's comment or of the text about the
// command: each string must be in the line's output.
var readmeSays = map[string][]string{
	// "what does a path select?": the one role that is admin
	`hindsight jsonpath '$.actor.roles[?@ == "admin"]' testdata/events/event.json`: {`"admin"`},
	// "which rules does each event satisfy?", after the file's own tests, reported as go test -v does
	"hindsight rules test -f testdata/rules/sample.yaml testdata/events/events.ndjson": {
		"--- PASS: ", "\nok  testdata/rules/sample.yaml", "\ntestdata/events/events.ndjson:1: customer c-0001: ",
	},
	// "reports as go test -v does (=== RUN, --- PASS/--- FAIL …, then ok/FAIL)"
	"hindsight rules test -f cmd/hindsight/testdata/rules-with-tests.yaml": {
		"=== RUN   ", "--- PASS: ", "\nPASS\nok  cmd/hindsight/testdata/rules-with-tests.yaml  8 tests\n",
	},
	// "run the rules' tests, publish the rules"
	"hindsight rules apply -f testdata/rules/sample.yaml": {"tested     testdata/rules/sample.yaml: 2 tests passed\n", "published  "},
	// "active rules": those just applied
	"hindsight rules list": {"admin-login-failures", "mfa-disabled"},
	// "version, commit, Go and DuckDB"
	"hindsight version": {"commit ", "\ngo ", "\nduckdb "},
}

// TestReadmeRunnableBlocks runs every line of the README's shell blocks marked
// runnable as written, with bash, in a fresh directory that holds the repository's
// testdata and cmd directories (so, as from the repository's top directory, but with
// its own ./hindsight-data), with the built binary as `hindsight` on PATH: each must
// exit 0, and print what readmeSays the README says it prints. The blocks marked
// "runnable with live" run against one `hindsight live` started in that directory,
// their fixed addresses replaced by the daemon's free ports (readmeCommands).
func TestReadmeRunnableBlocks(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow: the README's commands against the built binary and a daemon: make test runs it")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks.FindAllStringSubmatch(string(readme), -1)
	kinds := map[string]int{}
	for _, b := range blocks {
		kinds[b[1]]++
	}
	if kinds["runnable"] == 0 || kinds["runnable with live"] == 0 {
		t.Fatalf("the README's runnable blocks: %v; want both kinds", kinds)
	}
	bin := hindsightBinary(t)
	kcatBin := kcatPath(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed (make test installs it)")
	}
	top, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{"testdata", "cmd"} {
		if err := os.Symlink(filepath.Join(top, d), filepath.Join(dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stop func()
	cmds := readmeCommands(string(readme), func() (string, string) {
		var broker, httpAddr string
		broker, httpAddr, stop = startDaemonIn(t, bin, dir, "live")
		return broker, httpAddr
	}, kcatBin)
	if stop != nil {
		defer stop()
	}
	checked := map[string]bool{}
	for _, c := range cmds {
		cmd := exec.Command("bash", "-c", c.run)
		cmd.Dir, cmd.Env = dir, append(env[:len(env):len(env)], c.env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("README line %q: %v\n%s", c.line, err, out)
			continue
		}
		command, _, _ := strings.Cut(c.line, "#")
		command = strings.TrimSpace(command)
		for _, want := range readmeSays[command] {
			if !strings.Contains(string(out), want) {
				t.Errorf("README line %q printed no %q:\n%s", c.line, want, out)
			}
		}
		checked[command] = true
	}
	for command := range readmeSays {
		if !checked[command] {
			t.Errorf("the README has no runnable line %q that the test checks the output of: update readmeSays", command)
		}
	}
	t.Logf("%d runnable lines in %d blocks", len(cmds), len(blocks))
}
