// Command hindsight is Hindsight's one binary. Each subcommand parses its flags into its
// stage's Config and calls that stage's Run; no logic lives here.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
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
	return root
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
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
