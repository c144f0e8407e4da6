package notify_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestFiringMutedByAMuteTheFoldNeverHeldStaysMuted: a firing whose record says muted
// by a mute the stage's fold does not hold (forgotten past mute_retention or
// max_ended_mutes; the fold has caught up before alerts are read, so no newer one) is
// not taken as owed: no mute the stage saw covered it, in force or ended, so none
// ending may send it (openDest.sawMute). Were it sent, a mute an operator set and that
// aged out of the fold would page for every incident it silenced. Dropping the
// sawMute condition from owedLocked sent such a firing at the next check for ended
// mutes, and no test noticed.
func TestFiringMutedByAMuteTheFoldNeverHeldStaysMuted(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for several checks for ended mutes (1 s each): make test runs it")
	}
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, func(_ int, _ http.ResponseWriter, _ *http.Request) bool { return true })
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-muted-unknown-mute",
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	st, _ := startMember(t, cfg)

	firing := alertFor("f1", "c-1", []string{"ops"})
	firing.Muted = true // by a mute the fold does not hold
	fv, _ := json.Marshal(firing)
	lv, _ := json.Marshal(alertFor("a2", "c-1", []string{"ops"}))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv}, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: lv})
	poll.Until(t, 10*time.Second, "the later alert a2 delivered", func() bool {
		return slices.Contains(hook.delivered(), "a2:firing")
	})
	// Each check lists the partition's end offset for a firing it takes as owed and
	// sends it at the next once the reading has passed it: three checks are enough.
	from := st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "three checks for ended mutes after a2", func() bool {
		return st.UnmuteChecks() >= from+3
	})
	poll.Until(t, 10*time.Second, "the stage idle", func() bool {
		return b.GroupCommitted(t, "notify-muted-unknown-mute", "alerts") == 2
	})
	if got := hook.delivered(); !slices.Equal(got, []string{"a2:firing"}) {
		t.Errorf("receiver got %v, want only a2:firing: f1 was muted by a mute the stage never saw end", got)
	}
	if n := b.TopicRecords(t, "alerts.undelivered"); n != 0 {
		t.Errorf("alerts.undelivered holds %d records, want 0", n)
	}
	var f1 []string
	for _, d := range st.Recent() {
		if d.Alert.AlertID == "f1" {
			for _, ds := range d.Destinations {
				f1 = append(f1, ds.Name+":"+ds.State)
			}
		}
	}
	if !slices.Equal(f1, []string{"ops:muted"}) {
		t.Errorf("Recent shows f1's destinations %v, want [ops:muted]", f1)
	}
}
