package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Every numeric flag of every command whose help gives a negative value no meaning is
// refused negative with exit status 2 before the command does anything: the configs
// take zero and below for their default, so --commit-interval -1s ran with the default
// as if nothing were wrong.
func TestNegativeFlagValuesAreRefused(t *testing.T) {
	t.Parallel()
	var walk func(c *cobra.Command)
	checked := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !c.Runnable() {
			return
		}
		path := strings.Fields(c.CommandPath())[1:]
		if c.Args != nil && c.Args(c, nil) != nil {
			path = append(path, "x") // a command of one argument
		}
		var required []string
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if _, ok := f.Annotations[cobra.BashCompOneRequiredFlag]; ok {
				required = append(required, "--"+f.Name, "x")
			}
		})
		c.Flags().VisitAll(func(f *pflag.Flag) {
			neg := map[string]string{"int": "-1", "int32": "-1", "int64": "-1", "float64": "-0.5", "duration": "-1s",
				"intSlice": "0,-1", "int32Slice": "0,-1", "int64Slice": "0,-1", "durationSlice": "1s,-1s"}[f.Value.Type()]
			if neg == "" || strings.Contains(f.Usage, "negative") {
				return
			}
			checked++
			args := append(append(append([]string{}, path...), required...), "--"+f.Name+"="+neg)
			_, err := run(t, "", args...)
			if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), "must not be negative") {
				t.Errorf("hindsight %s: exit status %d, %v; want 2, must not be negative", strings.Join(args, " "), exitCode(err), err)
			}
		})
	}
	walk(newRootCmd())
	if checked < 50 {
		t.Errorf("only %d flags checked: the walk missed commands", checked)
	}
	t.Logf("%d flags refused negative", checked)
}

// A negative value from the environment is refused as from the command line, and a
// flag whose help gives negative a meaning takes it.
func TestNegativeFlagValuesFromTheEnvironment(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(hindsightBinary(t), "live", "--ephemeral", "--http", "127.0.0.1:0", "--embedded-addr", "127.0.0.1:0")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "HINDSIGHT_COMMIT_INTERVAL=-1s")
	out, err := cmd.CombinedOutput()
	if exitCode(err) != 2 || !strings.Contains(string(out), "invalid value -1s for HINDSIGHT_COMMIT_INTERVAL: must not be negative") {
		t.Errorf("HINDSIGHT_COMMIT_INTERVAL=-1s: exit status %d, output:\n%s", exitCode(err), out)
	}
	if out, err := run(t, "", "lake", "compact", "--lake", "file://"+t.TempDir(), "--delete-delay", "-1s"); err != nil {
		t.Errorf("lake compact --delete-delay -1s (negative: delete now): %v\n%s", err, out)
	}
}

// TestGOGCNegativeStillTurnsTheCollectorOff: setGCPercent hands --gogc to
// debug.SetGCPercent, where a negative value turns the collector off (GOGC=off), the
// usual pairing with --memory-limit: the refusal of negative values leaves it alone
// (its help says what a negative value does; a first version of the refusal took it).
func TestGOGCNegativeStillTurnsTheCollectorOff(t *testing.T) {
	t.Parallel()
	root := newRootCmd()
	for _, name := range []string{"live", "demo"} {
		c, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		f := c.Flags().Lookup("gogc")
		if f == nil {
			t.Fatalf("%s has no --gogc", name)
		}
		if err := f.Value.Set("-1"); err != nil {
			t.Fatal(err)
		}
		if err := negativeFlag(f, "--gogc"); err != nil {
			t.Errorf("hindsight %s --gogc -1 (GOGC off, as debug.SetGCPercent(-1)): %v", name, err)
		}
	}
	// Through the command line: another flag is invalid, so that live stops at its
	// own validation (before setGCPercent) whatever --gogc does; the error must be that
	// one, not a refusal of --gogc.
	_, err := run(t, "", "live", "--ephemeral", "--gogc=-1", "--console-recent-alerts=20000")
	if err == nil || strings.Contains(err.Error(), "must not be negative") {
		t.Errorf("hindsight live --gogc=-1: exit status %d, %v; want --gogc=-1 taken (the error about --console-recent-alerts only)", exitCode(err), err)
	}
}

// A negative number of a list flag is refused from its HINDSIGHT_ variable as from the
// command line: HINDSIGHT_PARTITION=-1 ran `lake ls` and reported "0 files", exit 0
// (applyEnv's list branch never asked negativeFlag). Not parallel: it sets variables.
func TestNegativeListFlagFromTheEnvironment(t *testing.T) {
	url := manifestOnlyLake(t)
	// The command line: refused (772a6e1).
	if _, err := run(t, "", "lake", "ls", "--partition", "-1", "--lake", url); exitCode(err) != 2 {
		t.Fatalf("lake ls --partition -1: exit %d (%v), want 2", exitCode(err), err)
	}
	// A one-value flag from its variable: refused too.
	t.Setenv("HINDSIGHT_TARGET_BYTES", "-1")
	if _, err := run(t, "", "lake", "compact", "--lake", url); exitCode(err) != 2 || !strings.Contains(err.Error(), "must not be negative") {
		t.Fatalf("HINDSIGHT_TARGET_BYTES=-1 lake compact: exit %d (%v), want 2, must not be negative", exitCode(err), err)
	}
	// The list flag from its variable.
	t.Setenv("HINDSIGHT_PARTITION", "-1")
	out, err := run(t, "", "lake", "ls", "--lake", url)
	if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Errorf("HINDSIGHT_PARTITION=-1 lake ls: exit %d (%v), want 2, must not be negative\n%s", exitCode(err), err, out)
	}
}
