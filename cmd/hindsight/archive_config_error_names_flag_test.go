package main

import (
	"strings"
	"testing"
)

// TestArchiveConfigErrorNamesItsFlags: hindsight archive refuses bounds that cannot
// work together (exit 2), but says so in lakehouse.ArchiverConfig's Go field names,
// "MaxBufferedBytes 536870912 below RollBytes 1000000000", where the operator typed
// --roll-bytes and never --max-buffered-bytes: the flags to change go unnamed. lake
// compact's --target-bytes alike ("TargetBytes 2000000000 out of range").
func TestArchiveConfigErrorNamesItsFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args  []string
		flags []string
	}{
		{[]string{"--roll-bytes", "1000000000"}, []string{"--roll-bytes", "--max-buffered-bytes"}},
		{[]string{"--max-buffered-bytes", "1000"}, []string{"--max-buffered-bytes", "--roll-bytes"}},
		{[]string{"--roll-bytes", "2000000000"}, []string{"--roll-bytes"}},
		{[]string{"--zstd-level", "30"}, []string{"--zstd-level"}},
		{[]string{"lake", "compact", "--target-bytes", "2000000000"}, []string{"--target-bytes"}},
	} {
		args := append([]string{"archive", "--brokers", "127.0.0.1:1", "--metrics-addr", ""}, tc.args...)
		if tc.args[0] == "lake" {
			args = append([]string{}, tc.args...)
		}
		args = append(args, "--lake", "file://"+t.TempDir())
		_, err := run(t, "", args...)
		if exitCode(err) != 2 || err == nil {
			t.Errorf("hindsight %s: exit %d (%v); want 2", strings.Join(tc.args, " "), exitCode(err), err)
			continue
		}
		for _, f := range tc.flags {
			if !strings.Contains(err.Error(), f) {
				t.Errorf("hindsight %s: %q does not name %s", strings.Join(args, " "), err, f)
			}
		}
	}
}

// TestArchiveConfigFlagsExist: each flag archive's and lake compact's errors name for a
// lakehouse field is one the command has, or the error would name a flag to change
// that the operator cannot give.
func TestArchiveConfigFlagsExist(t *testing.T) {
	for _, tc := range []struct {
		path  []string
		flags map[string]string
	}{{[]string{"archive"}, archiveFlags}, {[]string{"lake", "compact"}, compactFlags}} {
		cmd, _, err := newRootCmd().Find(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		for field, f := range tc.flags {
			if cmd.Flags().Lookup(f) == nil {
				t.Errorf("hindsight %s has no --%s, named for %s", strings.Join(tc.path, " "), f, field)
			}
		}
	}
}
