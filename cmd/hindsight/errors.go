package main

import (
	"errors"
	"io/fs"
	"syscall"

	"github.com/hindsightdev/hindsight/rule"
)

// usageError is bad input from the user: exit status 2.
type usageError struct{ error }

func (usageError) ExitCode() int   { return 2 }
func (e usageError) Unwrap() error { return e.error }

// rulesFileError is err, of reading or parsing a rules (or destinations) file, marked
// bad input when it is the file's fault: invalid, missing, unreadable or a directory.
// Every command that takes such a file exits 2 for it, as rules test does.
func rulesFileError(err error) error {
	if errors.Is(err, rule.ErrInvalid) || badInputFile(err) {
		return usageError{err}
	}
	return err
}

// badInputFile reports whether err, of opening or reading a file the user named, is the
// name's fault: no such file, no permission to read it, or a directory. A directory
// opens as a file does and fails only when read ("is a directory"), which had rules
// apply, destinations apply and backtest exit 1, as for a failure, where a missing file
// was exit 2.
func badInputFile(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EISDIR)
}
