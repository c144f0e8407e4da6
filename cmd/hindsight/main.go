// Command hindsight is Hindsight's one binary. Each subcommand parses its flags into its
// stage's Config and calls that stage's Run; no logic lives here.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// exitCoder lets a command choose its exit status (e.g. 1 for "a rule did not match"
// vs 2 for bad input) without printing cobra's usage.
type exitCoder interface{ ExitCode() int }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "hindsight",
		Short:         "Dynamically configured alerting over event streams",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newJSONPathCmd(), newRulesCmd(), newLiveCmd(), newDemoCmd(), newBenchCmd(), newArchiveCmd(), newLakeCmd(), newBackfillCmd(), newBacktestCmd(),
		newNotifyCmd(), newDestinationsCmd(), newMutesCmd(), newProduceCmd(), newVersionCmd())
	badCommandLinesAreUsage(root)
	return root
}

// badCommandLinesAreUsage makes the command lines cobra refuses before a command runs
// — an unknown flag or subcommand, a flag without its value, wrong arguments, a
// required flag missing, flags that go together or exclude each other — usage errors
// (exit status 2) in every command under root, as the commands' own checks of their
// input are: exit status 1 is a failure (for rules test, a failing test), not a typo.
func badCommandLinesAreUsage(root *cobra.Command) {
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// Cobra parses a group's flags before its RunE sees an argument naming none of
		// its subcommands: in "rules aply -f x", the -f of the subcommand meant is
		// unknown to rules. The mistyped subcommand is what to report.
		if c.HasSubCommands() && c.HasParent() {
			if a := c.Flags().Args(); len(a) > 0 {
				return unknownCommand(c, a[0])
			}
		}
		return usageError{err}
	})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		switch {
		case c.Runnable():
			if args := c.Args; args != nil {
				c.Args = func(cmd *cobra.Command, a []string) error {
					if err := args(cmd, a); err != nil {
						return usageError{err}
					}
					return nil
				}
			}
			// Cobra checks required flags and flag groups after PreRunE: checked here
			// first, so that their errors are usage errors too.
			pre := c.PreRunE
			c.PreRunE = func(cmd *cobra.Command, a []string) error {
				// The environment first, and here for every command: a required flag
				// can come from its variable, and no command can forget to read them.
				if err := applyEnv(cmd); err != nil {
					return usageError{err}
				}
				if err := cmd.ValidateRequiredFlags(); err != nil {
					return usageError{err}
				}
				if err := cmd.ValidateFlagGroups(); err != nil {
					return usageError{err}
				}
				var neg error
				cmd.Flags().Visit(func(f *pflag.Flag) { neg = cmp.Or(neg, negativeFlag(f, "--"+f.Name)) })
				if neg != nil {
					return usageError{neg}
				}
				if pre != nil {
					return pre(cmd, a)
				}
				return nil
			}
		case c.HasSubCommands() && c.HasParent():
			// A group: its help, or, for an argument that names none of its
			// subcommands, a usage error (cobra printed the help and exited 0). The
			// root keeps cobra's own check, which suggests a command for a typo and
			// which help's unknown topics rely on (execute marks its error).
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(cmd *cobra.Command, a []string) error {
				if len(a) > 0 {
					return unknownCommand(cmd, a[0])
				}
				return cmd.Help()
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// unknownCommand is the usage error for name, an argument of group that names none of
// its subcommands, with cobra's suggestions as the root gives them for a mistyped
// command.
func unknownCommand(group *cobra.Command, name string) error {
	if group.SuggestionsMinimumDistance <= 0 {
		group.SuggestionsMinimumDistance = 2 // cobra's own, which it sets only at the root
	}
	var hint string
	if s := group.SuggestionsFor(name); len(s) > 0 {
		hint = "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
	}
	return usageError{fmt.Errorf("unknown command %q for %q%s", name, group.CommandPath(), hint)}
}

// negativeFlag refuses a negative number given to a numeric flag, or in a numeric list
// flag (--partition 0,-1), whose help gives a negative value no meaning ("negative:
// never" and the like): the flags' configs take zero and below for their default,
// which would hide a typo such as -1s. It refuses NaN and infinities given to a float
// flag whatever its help says: strconv takes them as numbers, and no flag means
// anything by them (--rate NaN compared false with 0 and ran unlimited).
func negativeFlag(f *pflag.Flag, given string) error {
	typ, texts := f.Value.Type(), []string{f.Value.String()}
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		typ, texts = strings.TrimSuffix(typ, "Slice"), sv.GetSlice()
	}
	for _, v := range texts {
		if typ == "float32" || typ == "float64" {
			if x, err := strconv.ParseFloat(v, 64); err == nil && (math.IsNaN(x) || math.IsInf(x, 0)) {
				return fmt.Errorf("invalid value %s for %s: must be a finite number", v, given)
			}
		}
	}
	if strings.Contains(f.Usage, "negative") {
		return nil
	}
	for _, v := range texts {
		if negativeText(typ, v) {
			return fmt.Errorf("invalid value %s for %s: must not be negative", v, given)
		}
	}
	return nil
}

// negativeText reports whether v, the text of a flag value of pflag type typ, is a
// negative number.
func negativeText(typ, v string) bool {
	switch typ {
	case "int", "int8", "int16", "int32", "int64":
		n, err := strconv.ParseInt(v, 10, 64)
		return err == nil && n < 0
	case "float32", "float64":
		x, err := strconv.ParseFloat(v, 64)
		return err == nil && x < 0
	case "duration":
		d, err := time.ParseDuration(v)
		return err == nil && d < 0
	}
	return false
}

// execute runs root (newRootCmd) on args. An error of cobra's finding the command —
// an unknown command, at the root — is a usage error, as badCommandLinesAreUsage makes
// the others.
func execute(ctx context.Context, root *cobra.Command, args []string) error {
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	var ec exitCoder
	if err != nil && cmd == root && !root.Runnable() && !errors.As(err, &ec) {
		return usageError{err} // the root runs nothing: only finding a command fails there
	}
	return err
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := newRootCmd()
	go exitOnSecondSignal(commandOf(root, os.Args[1:]))
	err := execute(ctx, root, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hindsight:", err)
		var ec exitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}
