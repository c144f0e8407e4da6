package console_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hindsightdev/hindsight/console"
)

// TestSaveWithoutStatusTopicStillPublishes: a deployment whose control-status topic
// does not exist (deleted by an operator clearing old statuses, or topics pre-created
// with --no-create-topics and that one left out). The daemon still folds controls
// (only its status reports fail), so a console save publishes the rule and answers 202
// pending ("no daemon reported its status"). The save's listing of the status topic's
// end (MarkStatuses) failed with UNKNOWN_TOPIC_OR_PARTITION, and nothing was published.
func TestSaveWithoutStatusTopicStillPublishes(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(d.b.Client(t)).DeleteTopics(ctx, "controls.status")
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	before := d.b.TopicRecords(t, "controls")
	var s console.SaveResponse
	body := map[string]any{"rule": json.RawMessage(loginRule), "wait_ms": 500}
	r := call(t, "POST", d.url("/v1/console/rules"), "", body, &s)
	after := d.b.TopicRecords(t, "controls")
	if after == before {
		t.Errorf("save with no control-status topic: HTTP %d %+v; controls records %d -> %d: the rule was not published (want it published, 202 pending)",
			r.StatusCode, s, before, after)
	}
}
