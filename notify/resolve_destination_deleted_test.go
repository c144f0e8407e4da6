package notify_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestResolveOfAFiringWhoseDestinationWasDeletedGoesWhereItsNameResolves: x (customer
// c-1) fires and is delivered to c-1's own "ops" (receiver own); then c-1's "ops" is
// deleted, the global "ops" (receiver global) staying. docs/notifications.md: "If that
// destination was deleted since, the resolve goes as if its firing had not been read":
// to where "ops" resolves now, the global one. The mutation hunt (stage.go, followNow,
// without "dest.Scope != to.Scope": the name now resolving, to the global destination,
// taken for the firing's) sent the resolve to the deleted destination's URL, and no
// test failed.
func TestResolveOfAFiringWhoseDestinationWasDeletedGoesWhereItsNameResolves(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ownURL, own := keyRecorder(t)
	globalURL, global := keyRecorder(t)
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: globalURL + "/hook"}),
		rule.UpsertDestination(&rule.Destination{Scope: "c-1", Name: "ops", Type: rule.DestWebhook, URL: ownURL + "/hook"}))...)
	const group = "notify-resolve-deleted-destination"
	st := oneAttemptStage(t, b, group, nil)
	runStage(t, st)
	poll.Until(t, 10*time.Second, "c-1's own ops folded", func() bool {
		d, ok := st.Registry().Destination("c-1", "ops")
		return ok && d.Scope == "c-1"
	})

	x := alertFor("x", "c-1", []string{"ops"})
	fv, _ := json.Marshal(x)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv})
	poll.Until(t, 10*time.Second, "x's firing delivered to c-1's ops", func() bool { return slices.Contains(own(), "x:firing") })

	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindDestination, rule.Key{Scope: "c-1", ID: "ops"}))...)
	poll.Until(t, 10*time.Second, "c-1's ops deleted", func() bool {
		d, ok := st.Registry().Destination("c-1", "ops")
		return ok && d.Scope == "*"
	})
	x.Status = contract.StatusResolved
	rv, _ := json.Marshal(x)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	poll.Until(t, 10*time.Second, "both handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 2 })
	if got, want := own(), []string{"x:firing"}; !slices.Equal(got, want) {
		t.Errorf("c-1's deleted ops got %q, want %q: a deleted destination is sent nothing more", got, want)
	}
	if got, want := global(), []string{"x:resolved"}; !slices.Equal(got, want) {
		t.Errorf("the global ops, where the name resolves once c-1's is deleted, got %q, want %q", got, want)
	}
}
