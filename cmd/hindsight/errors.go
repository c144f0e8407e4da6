package main

import (
	"errors"
	"io/fs"

	"github.com/hindsightdev/hindsight/rule"
)

// usageError is bad input from the user: exit status 2.
type usageError struct{ error }

func (usageError) ExitCode() int   { return 2 }
func (e usageError) Unwrap() error { return e.error }

// rulesFileError is err, of reading or parsing a rules (or destinations) file, marked
// bad input when it is the file's fault: invalid, missing or unreadable. Every command
// that takes such a file exits 2 for it, as rules test does.
func rulesFileError(err error) error {
	if errors.Is(err, rule.ErrInvalid) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return usageError{err}
	}
	return err
}
