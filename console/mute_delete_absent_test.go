package console_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
)

// TestDeleteOfAnAbsentMutePublishesNothing: deleting a mute the daemon does not have
// is answered 404 not_found by the console itself, with no offset: no delete control is
// published onto the controls topic for it.
func TestDeleteOfAnAbsentMutePublishesNothing(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	var res console.SaveResponse
	resp := call(t, "DELETE", d.url("/v1/console/mutes?scope=c-1&id=nope"), "", nil, &res)
	if resp.StatusCode != 404 || res.Status != contract.ControlNotFound || res.Offset != -1 || res.Key != "mute:c-1/nope" {
		t.Errorf("delete of an absent mute: %d %+v, want 404 not_found for mute:c-1/nope, offset -1", resp.StatusCode, res)
	}
	if n := d.b.TopicRecords(t, "controls"); n != 0 {
		t.Errorf("the controls topic holds %d records after deleting an absent mute, want 0", n)
	}
}
