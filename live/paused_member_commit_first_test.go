package live_test

import "testing"

// TestPausedMemberWhoseCommitMeetsItsExpiryFirst: as TestPausedMemberDoesNotRewindItsLostPartitions,
// with the order the resumed member learns its session expired fixed: its heartbeats
// are answered as if the session stood, so that its offset commit's UNKNOWN_MEMBER_ID
// is what tells it (a race CI's race pass met at 2e0cb18).
//
// franz-go (v1.22.3, consumer_group.go's commit path) rejoins on a commit's fatal member
// error without calling OnPartitionsLost, and joins again as a new member still
// claiming the partitions it held; the group gave them back, and the member went on
// with its pre-pause state and read position (no Lost, no restore) until ingest took
// partitions held under a former member id as lost (ingest's heldByFormerMember).
func TestPausedMemberWhoseCommitMeetsItsExpiryFirst(t *testing.T) {
	t.Parallel() // as TestPausedMemberDoesNotRewindItsLostPartitions (see there)
	pausedMember(t, 2, true)
}
