package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/spf13/cobra"

	"github.com/hindsightdev/hindsight/internal/lines"
	"github.com/hindsightdev/hindsight/jsonpath"
)

func newJSONPathCmd() *cobra.Command {
	var (
		compact  bool
		maxBytes int
	)
	cmd := &cobra.Command{
		Use:   "jsonpath EXPR [FILE]",
		Short: "Print, as a JSON array, the values an RFC 9535 JSONPath selects from a JSON document",
		Long: `Print, as a JSON array, the values that EXPR selects from the JSON document in FILE
(or standard input), in document order. An invalid path prints its error with the column
of the problem. A document longer than --max-document-bytes is refused, read no further
than that. Exit status: 0 on success, 2 for an invalid path or document, or one too long.`,
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
			data, err := readDocument(in, maxBytes)
			if err != nil {
				return err
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
	cmd.Flags().IntVar(&maxBytes, "max-document-bytes", lines.DefaultMax, "longest document read, in bytes (0: the default, as --max-line-bytes'); a longer one is refused")
	return cmd
}

// readDocument reads in whole, at most limit bytes (lines.DefaultMax when 0): a longer
// document is a usage error naming the limit, read no further than one byte past it.
func readDocument(in io.Reader, limit int) ([]byte, error) {
	if limit <= 0 {
		limit = lines.DefaultMax
	}
	data, err := io.ReadAll(io.LimitReader(in, int64(min(limit, math.MaxInt-1))+1))
	if err != nil {
		err = fmt.Errorf("reading document: %w", err)
		if badInputFile(err) {
			return nil, usageError{err} // a directory, which opens as a file does
		}
		return nil, err
	}
	if len(data) > limit {
		return nil, usageError{fmt.Errorf("jsonpath: document too long: more than --max-document-bytes %d bytes", limit)}
	}
	return data, nil
}
