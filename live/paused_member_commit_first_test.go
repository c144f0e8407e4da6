//go:build knowndefect

package live_test

import "testing"

// TestPausedMemberWhoseCommitMeetsItsExpiryFirst: as TestPausedMemberDoesNotRewindItsLostPartitions,
// with the order the resumed member learns its session expired fixed: its heartbeats
// are answered as if the session stood, so that its offset commit's UNKNOWN_MEMBER_ID
// is what tells it (a race CI's race pass met at 2e0cb18).
//
// It fails today, so it is built only with -tags knowndefect: franz-go (v1.22.3,
// consumer_group.go's commit path) rejoins on a commit's fatal member error without
// calling OnPartitionsLost, the rejoin is refused with UNKNOWN_MEMBER_ID and made again
// without a member id while still claiming the partitions it held, and the balancer
// gives them back: the member keeps its pre-pause state and read position for them with
// no Lost and no restore, the rewind the test above guards against (ingest's onLost is
// never called; the commit error is only logged). Run it with
//
//	go test -tags knowndefect -count=1 -run TestPausedMemberWhoseCommitMeetsItsExpiryFirst ./live/
func TestPausedMemberWhoseCommitMeetsItsExpiryFirst(t *testing.T) {
	pausedMember(t, 2, true)
}
