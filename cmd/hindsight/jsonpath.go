package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/hindsightdev/hindsight/jsonpath"
)

func newJSONPathCmd() *cobra.Command {
	var compact bool
	cmd := &cobra.Command{
		Use:   "jsonpath EXPR [FILE]",
		Short: "Print, as a JSON array, the values an RFC 9535 JSONPath selects from a JSON document",
		Long: `Print, as a JSON array, the values that EXPR selects from the JSON document in FILE
(or standard input), in document order. An invalid path prints its error with the column
of the problem. Exit status: 0 on success, 2 for an invalid path or document.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in io.Reader = cmd.InOrStdin()
			if len(args) == 2 && args[1] != "-" {
				f, err := os.Open(args[1])
				if err != nil {
					return usageError{err}
				}
				defer f.Close()
				in = f
			}
			data, err := io.ReadAll(in)
			if err != nil {
				return fmt.Errorf("reading document: %w", err)
			}
			texts, err := jsonpath.QueryText(args[0], data)
			if err != nil {
				return usageError{err}
			}
			// Each value as the document has it, which is what rules read: decoded, a
			// duplicate key or a number beyond float64 would show otherwise.
			vals := make([]json.RawMessage, len(texts))
			for i, s := range texts {
				vals[i] = json.RawMessage(s)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			if !compact {
				enc.SetIndent("", "  ")
			}
			return enc.Encode(vals)
		},
	}
	cmd.Flags().BoolVarP(&compact, "compact", "c", false, "print the array on one line")
	return cmd
}
