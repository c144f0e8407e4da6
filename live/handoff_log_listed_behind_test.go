package live_test

import "testing"

// TestHandoffWhileKafkaListsTheLogBehind: a rule applied after 30 logins were counted
// is handed off at offset 30, while the broker lists the log as ending at 10 (as one
// just restarted, or a leader newly elected, may). Its job is retried, the rule
// backfilling with the reason as its last error, until the broker lists the whole log;
// then it counts all 30. Without the hand-off telling backfill that it read the log up
// to its start (backfill.Job.StartRead), the job completed with the 10 offsets listed
// and the rule was live with a count of 10, nothing said missing.
func TestHandoffWhileKafkaListsTheLogBehind(t *testing.T) {
	t.Parallel()
	handoffWhileKafkaListsTheLogBehind(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":1000}`, "below the start 30")
}
