package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkWritable refuses paths that a command writes only once its run is over (a
// report, its plot) and that cannot be written: the run, minutes of it for bench all,
// was lost to a typo in the path. A path that exists must be a file this process may
// write (opened, not truncated; a device or pipe is taken as it is); for one that does
// not, a temporary file is made and removed in its directory, which must exist and take
// it. flag names the flag the paths come from.
func checkWritable(flag string, paths ...string) error {
	tried := map[string]bool{}
	for _, p := range paths {
		st, err := os.Stat(p)
		switch {
		case err == nil && st.IsDir():
			return fmt.Errorf("%s %s: is a directory", flag, p)
		case err == nil && st.Mode().IsRegular():
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return fmt.Errorf("%s %s: cannot be written: %w", flag, p, err)
			}
			f.Close()
		case err == nil:
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("%s %s: %w", flag, p, err)
		case !tried[filepath.Dir(p)]:
			dir := filepath.Dir(p)
			tried[dir] = true
			f, err := os.CreateTemp(dir, ".hindsight-write-check-*")
			if err != nil {
				return fmt.Errorf("%s %s: cannot be written in %s: %w", flag, p, dir, err)
			}
			f.Close()
			if err := os.Remove(f.Name()); err != nil {
				return fmt.Errorf("%s %s: removing the file that checked %s: %w", flag, p, dir, err)
			}
		}
	}
	return nil
}
