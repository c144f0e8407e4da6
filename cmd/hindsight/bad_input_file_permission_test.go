package main

import (
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

// TestAnUnreadableRulesFileIsBadInput: a rules file the user may not read is the name's
// fault, exit status 2 as a missing one is (badInputFile's doc). The tests ran as a user
// who could read every file they made, so a mutant that dropped fs.ErrPermission from
// badInputFile (exit 1, as for a failure) survived: the error chmod 000 gives a reader
// who is not root is checked here as the open returns it.
func TestAnUnreadableRulesFileIsBadInput(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("backtest: %w", &fs.PathError{Op: "open", Path: "rules.yaml", Err: syscall.EACCES})
	if code := exitCode(rulesFileError(err)); code != 2 {
		t.Errorf("rulesFileError(%v): exit status %d, want 2 for a file the user may not read", err, code)
	}
}
