package notify

import (
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestJobQueuedWhileTheOneBeforeItIsInFlightWaitsForIt: three records of alert a0 to
// "ops" are read in a row (its firing, its resolve, then a repeat of the resolve: live
// writes at least once). The firing is delivered while the resolve is on the wire; the
// repeat, queued then, waits for the resolve, as every job of one alert to one name
// waits for the one queued before it (TestStageQueueFullKeepsTheChain). The mutation
// hunt (stage.go, finished, without "s.last[k] == j") let the firing's end drop the
// chain's last link, the resolve's: the repeat went out beside it, and no test failed.
// The queue has no workers: the test takes the jobs, as a worker would.
func TestJobQueuedWhileTheOneBeforeItIsInFlightWaitsForIt(t *testing.T) {
	t.Parallel()
	s, _ := trackStage(t, Config{})
	d := &rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: "http://127.0.0.1:1/hook"}
	s.queues[rule.Key{Scope: d.Scope, ID: d.Name}] = &destQueue{ch: make(chan *job, 3), stop: func() {}}
	firing := contract.Alert{AlertID: "a0", RuleID: "r", Customer: "c-1", Status: contract.StatusFiring, Notify: []string{"ops"}}
	resolved := firing
	resolved.Status = contract.StatusResolved
	jobs := []*job{{alert: &firing, name: "ops", dest: d}, {alert: &resolved, name: "ops", dest: d}, {alert: &resolved, name: "ops", dest: d}}
	closed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}

	for _, j := range jobs[:2] {
		if !s.tryEnqueue(j) {
			t.Fatal("a job not queued in a queue of 3")
		}
	}
	s.finished(jobs[0]) // the firing delivered; the resolve is on the wire
	if !s.tryEnqueue(jobs[2]) {
		t.Fatal("the repeat not queued in a queue of 3")
	}
	if jobs[2].after == nil || closed(jobs[2].after) {
		t.Fatalf("the repeat of a0's resolve, queued while the resolve is on the wire, may go at once (after %v), beside it", jobs[2].after)
	}
	s.finished(jobs[1])
	if !closed(jobs[2].after) {
		t.Errorf("the resolve over, the repeat queued after it still waits")
	}
}
