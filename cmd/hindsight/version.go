package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/hindsightdev/hindsight/backfill"
)

// version and commit are what this binary was built from, set by `make build`
// (-ldflags "-X main.version=… -X main.commit=…"); otherwise the version is "dev" and the
// commit is Go's build information, when it has it.
var (
	version = "dev"
	commit  = ""
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go and DuckDB versions of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			commit := commit
			if commit == "" {
				commit = "unknown"
				if bi, ok := debug.ReadBuildInfo(); ok {
					for _, s := range bi.Settings {
						if s.Key == "vcs.revision" {
							commit = s.Value
						}
					}
				}
			}
			duck, err := backfill.DuckDBVersion(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "hindsight %s\ncommit    %s\ngo        %s %s/%s\nduckdb    %s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, duck)
			return nil
		},
	}
}
