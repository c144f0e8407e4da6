package live

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestPartitionsBeingDroppedAreNotListed: from the moment drop is given partitions
// (Lost, Revoked) they are no longer this process's, yet they stay in d.parts until
// drop has handled every one. /healthz, /readyz and /v1/state listed them as owned
// meanwhile, and for a lost partition, which another member may own already, two
// members listed the same partition. The probes must not wait for the partition's
// lock either (a worker holds it for a whole batch, a query for its walk): here it is
// held while drop waits for it, and the probes answer without it. With every owned
// partition being dropped, the lists are empty: [] as documented, not null.
func TestPartitionsBeingDroppedAreNotListed(t *testing.T) {
	t.Parallel()
	f := newPublishFixture(t, 1)
	d := f.d
	d.rulesLoaded = make(chan struct{})
	d.im = ingest.NewMetrics(prometheus.NewRegistry())
	d.cfg.NoArchive = true
	d.parts[1] = newPartition(1)

	f.p.mu.Lock() // partition 0's lock, held as a batch holds it
	locked := true
	defer func() {
		if locked {
			f.p.mu.Unlock()
		}
	}()
	dropped := make(chan struct{})
	go func() {
		defer close(dropped)
		d.Lost([]int32{0, 1})
	}()

	if !poll.Within(30*time.Second, func() bool { return len(d.Partitions()) == 0 }) {
		t.Fatalf("partitions 0 and 1 being dropped (drop waits for partition 0's lock): Partitions() = %v, want []", d.Partitions())
	}
	if ps := d.Partitions(); ps == nil {
		t.Errorf("Partitions() is nil with none listed, want []int32{}")
	}

	for path, handle := range map[string]http.HandlerFunc{"/healthz": d.handleHealth, "/readyz": d.handleReady} {
		rec := httptest.NewRecorder()
		handle(rec, httptest.NewRequest("GET", path, nil))
		var body struct {
			Partitions json.RawMessage `json:"partitions"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s %s: %v", path, rec.Body, err)
		}
		if string(body.Partitions) != "[]" {
			t.Errorf("%s partitions %s with partitions 0 and 1 being dropped, want []", path, body.Partitions)
		}
	}

	if st := d.State(); len(st.Partitions) != 0 {
		ids := []int32{}
		for _, p := range st.Partitions {
			ids = append(ids, p.Partition)
		}
		t.Errorf("/v1/state lists partitions %v with partitions 0 and 1 being dropped, want none", ids)
	}

	f.p.mu.Unlock()
	locked = false
	<-dropped
	if ps := d.Partitions(); !slices.Equal(ps, []int32{}) {
		t.Errorf("after the drop, Partitions() = %v, want []", ps)
	}
}
