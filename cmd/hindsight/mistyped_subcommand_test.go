package main

import (
	"strings"
	"testing"
)

// A mistyped subcommand of a command group, given with the flags of the subcommand
// meant, is reported as the unknown command it is, as the root does for a mistyped
// command ("unknown command \"backtset\" for \"hindsight\""). `hindsight rules aply -f
// rules.yaml` said "unknown shorthand flag: 'f' in -f", which sends the user looking
// for what is wrong with -f, the flag the README gives rules apply.
func TestMistypedSubcommandIsNamed(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"rules", "aply", "-f", "rules.yaml"},
		{"rules", "tset", "--json"},
		{"mutes", "ad", "deploy", "--for", "2h"},
		{"destinations", "aply", "-f", "destinations.yaml"},
	} {
		out, err := run(t, "", args...)
		if exitCode(err) != 2 {
			t.Errorf("hindsight %s: exit status %d (%v), want 2", strings.Join(args, " "), exitCode(err), err)
			continue
		}
		want := `unknown command "` + args[1] + `"`
		if !strings.Contains(err.Error(), want) {
			t.Errorf("hindsight %s: error %q, want it to say %s\n%s", strings.Join(args, " "), err, want, out)
		}
	}
}
