package main

import (
	"strings"
	"testing"
)

// archive's --lake-columns takes "JSONPaths (singular: names and indexes)". A path that
// is not singular ($..a, $.a[*]) types nothing: lakehouse.ColumnSet.Set skips it, as it
// should a rule's path, so it was dropped without a word and the archive ran with none
// of the columns asked for. It is refused as an unparsable one is, and as live refuses
// it, exit 2 naming the flag, before any broker is asked.
func TestArchiveRefusesNonSingularLakeColumns(t *testing.T) {
	t.Parallel()
	nobody := noBroker(t)
	_, err := run(t, "", "archive", "--brokers", nobody, "--metrics-addr", "", "--lake", "file://"+t.TempDir(), "--lake-columns", "$..a")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "--lake-columns") {
		t.Errorf("archive --lake-columns '$..a': exit %d (%v), want 2 naming --lake-columns: the path types nothing", exitCode(err), err)
	}
}

// README (limits table) and archive's help: past --lake-max-columns "the rest are read
// from the JSON (0 or negative: none)", "a warning names the flag", as live does. The
// standalone archiver refused to start instead (exit 2, "more typed column paths than
// the limit"): `archive --lake-columns '$.a' --lake-max-columns 0`, documented as typing
// none, did not run. Here no broker answers, so the run ends at the broker check
// (TestArchiveLimitsInMetrics sees the warning's gauge and count).
func TestArchiveLakeColumnsPastTheLimitAreUntyped(t *testing.T) {
	t.Parallel()
	nobody := noBroker(t)
	_, err := run(t, "", "archive", "--brokers", nobody, "--metrics-addr", "", "--lake", "file://"+t.TempDir(),
		"--lake-columns", "$.a,$.b", "--lake-max-columns", "1")
	if err == nil || !strings.Contains(err.Error(), "no broker answered") {
		t.Errorf("archive --lake-columns '$.a,$.b' --lake-max-columns 1: exit %d (%v), want it to start (one path untyped, with a warning) and so reach the broker check", exitCode(err), err)
	}
}
