package ingest

import (
	"context"
	"testing"
	"time"
)

// TestCommitAsAnotherMemberIsRefused: partitions assigned under one member id are not
// committed as another. After a rejoin franz-go did not call lost (heldByFormerMember),
// the new member's commit of what the former one handled would be accepted by the
// group, and could move back what another member committed meanwhile.
func TestCommitAsAnotherMemberIsRefused(t *testing.T) {
	t.Parallel()
	b, ec, _ := handledThreeEach(t, "former-member")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ec.commitMu.Lock()
	member := ec.heldAs
	ec.heldAs = "a-former-member"
	ec.commitMu.Unlock()
	if member == "" {
		t.Fatal("the consumer's partitions were assigned under no member id")
	}
	ec.Commit(ctx)
	for p := range int32(2) {
		if got := committedAt(t, b, "former-member", p); got != -1 {
			t.Errorf("partition %d, assigned to another member, committed at %d as member %s; want nothing committed", p, got, member)
		}
	}

	ec.commitMu.Lock()
	ec.heldAs = member
	ec.commitMu.Unlock()
	ec.Commit(ctx)
	for p := range int32(2) {
		if got := committedAt(t, b, "former-member", p); got != 3 {
			t.Errorf("partition %d committed at %d as the member it was assigned to, want 3", p, got)
		}
	}
}
