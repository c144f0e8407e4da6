package live_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestDamagedSnapshotHeaderIsReportedAsDamage: a snapshot damaged on disk is refused,
// and /v1/state says why. A flipped bit in the high byte of the encoding version (the
// checksum does not match) is reported as a snapshot from a newer build ("restore it
// with a build that reads it"), since openState checks the version before the CRC; a
// file cut short after its magic is reported as not a snapshot at all ("bad magic").
// Either sends the operator looking for the wrong cause.
func TestDamagedSnapshotHeaderIsReportedAsDamage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		damage  func([]byte) []byte
		want    string // what LastError must say
		notWant string
	}{
		{"version high byte flipped", func(b []byte) []byte { b[5] ^= 0x01; return b }, "checksum", "encoding version"},
		{"cut short after the magic", func(b []byte) []byte { return b[:10] }, "truncated", "bad magic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":100}`)
			b.Produce(t, livetest.Upsert(t, r))
			b.Produce(t, livetest.Event("a", `{"type":"login"}`))
			state := t.TempDir()
			group := "damaged-" + strings.ReplaceAll(tc.name, " ", "-")
			first, stop := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL = group, "file://"+state })
			poll.Until(t, 20*time.Second, "the event counted", func() bool { return first.EventsSeen() == 1 })
			stop()
			<-first.Done()
			snaps, _ := filepath.Glob(filepath.Join(state, "state", "*", "*", "*", "*.snap"))
			if len(snaps) == 0 {
				t.Fatal("no snapshot at shutdown")
			}
			for _, f := range snaps {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f, tc.damage(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			second, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL = group, "file://"+state })
			var last string
			poll.Until(t, 20*time.Second, "the restore's error in /v1/state", func() bool {
				st := second.State()
				if len(st.Partitions) == 1 {
					last = st.Partitions[0].LastError
				}
				return last != ""
			})
			if !strings.Contains(last, tc.want) || strings.Contains(last, tc.notWant) {
				t.Errorf("damaged snapshot (%s) reported as %q: want it to say %q, not %q", tc.name, last, tc.want, tc.notWant)
			}
		})
	}
}
