package lakehouse

import (
	"fmt"
	"strings"
)

// corruptFileError is a merge's error when one of its files is corrupt (ErrCorrupt):
// path names it, so that the rest of the group can still merge.
type corruptFileError struct {
	path string
	err  error
}

func (e *corruptFileError) Error() string { return fmt.Sprintf("%s: %v", e.path, e.err) }

func (e *corruptFileError) Unwrap() error { return e.err }

// corruptShown is how many corrupt files a pass's error names; the log names each.
const corruptShown = 5

// corruptFilesError is a maintenance pass's error for the listed files it found
// corrupt (ErrCorrupt), naming them and saying what to do: a listed file is the only
// copy of its offsets, which the lake never drops from its manifest by itself.
func corruptFilesError(paths []string) error {
	shown := strings.Join(paths[:min(len(paths), corruptShown)], ", ")
	if len(paths) > corruptShown {
		shown += fmt.Sprintf(" and %d more (see the log)", len(paths)-corruptShown)
	}
	files := "files"
	if len(paths) == 1 {
		files = "file"
	}
	return fmt.Errorf("%w: %d listed %s could not be read (%s), left listed and not merged: "+
		"each is the only copy of its offsets, and backfill and backtest over them fail until it is "+
		"restored from a backup or the bucket's object versions", ErrCorrupt, len(paths), files, shown)
}
