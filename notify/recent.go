package notify

import (
	"slices"
	"sync"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// recentRing keeps the delivery states of the latest alerts for the console: a fixed
// number, the oldest dropped first.
type recentRing struct {
	mu      sync.Mutex
	max     int
	dropped func()                    // an alert's state left the full ring for a newer one
	items   []*contract.AlertDelivery // oldest first
	// byAlert finds an alert's delivery from the alert pointer a Sender reports.
	byAlert map[*contract.Alert]*contract.AlertDelivery
}

func newRecentRing(n int, dropped func()) *recentRing {
	return &recentRing{max: n, dropped: dropped, byAlert: map[*contract.Alert]*contract.AlertDelivery{}}
}

func (r *recentRing) add(d *contract.AlertDelivery, _ []*job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.items) == r.max {
		r.dropped()
		delete(r.byAlert, &r.items[0].Alert)
		r.items[0] = nil
		r.items = r.items[1:]
	}
	r.items = append(r.items, d)
	r.byAlert[&d.Alert] = d
}

// set records j's state.
func (r *recentRing) set(j *job, state string, attempts int, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := &j.delivery.Destinations[j.index]
	st.State, st.Attempts, st.Reason, st.Updated = state, attempts, reason, time.Now().UTC()
	if j.dest != nil { // a retry may have gone to another destination of that name
		st.Scope, st.Type = j.dest.Scope, j.dest.Type
	}
}

// retrying records a failed attempt of a's delivery to t that will be retried: to the
// destination of t's name as it was then (a retry goes where the name resolves now).
func (r *recentRing) retrying(a *contract.Alert, t Target, attempt int, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.byAlert[a]
	if d == nil {
		return // dropped from the ring already
	}
	for i := range d.Destinations {
		if st := &d.Destinations[i]; st.Name == t.Name {
			st.State, st.Attempts, st.Reason, st.Updated = contract.DeliveryRetrying, attempt, reason, time.Now().UTC()
			if t.Scope != "" { // a Sender used alone names no scope
				st.Scope, st.Type = t.Scope, t.Type
			}
		}
	}
}

// list copies the ring, newest first.
func (r *recentRing) list() []contract.AlertDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]contract.AlertDelivery, 0, len(r.items))
	for _, d := range slices.Backward(r.items) {
		c := *d
		c.Destinations = slices.Clone(d.Destinations)
		out = append(out, c)
	}
	return out
}
