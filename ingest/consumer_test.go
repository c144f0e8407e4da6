package ingest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// nopHandler handles nothing; revoked, when set, runs inside Revoked.
type nopHandler struct{ revoked func() }

func (nopHandler) Assigned([]int32)   {}
func (nopHandler) HandleBatch(*Batch) {}
func (h nopHandler) Revoked([]int32) {
	if h.revoked != nil {
		h.revoked()
	}
}

// A consumer the brokers refuse for good stops with the reason instead of retrying and
// logging forever while its daemon looks healthy.
func TestEventConsumerRunSurfacesFatalErrors(t *testing.T) {
	t.Parallel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("PLAIN", "admin", "admin-pass"),
		kfake.User("PLAIN", "nobody", "nobody-pass"), // no ACLs: may read nothing
		kfake.SeedTopics(2, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := EventsConfig{Kafka: KafkaConfig{Brokers: c.ListenAddrs(), SASLMechanism: "plain", SASLUser: "nobody", SASLPassword: "nobody-pass"},
		Topics: Topics{Events: "events"}, Group: "g", ShutdownTimeout: time.Second}
	ec, err := NewEventConsumer(cfg, nopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = ec.Run(ctx)
	if ctx.Err() != nil {
		t.Fatal("Run ran until its context ended: the refusal was not surfaced")
	}
	if !errors.Is(err, kerr.GroupAuthorizationFailed) && !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("Run = %v, want an authorization error", err)
	}
}

// A handler that snapshots revoked partitions does I/O; commits of the partitions that
// stay must not wait for it.
func TestRevokeHandlerDoesNotHoldCommits(t *testing.T) {
	t.Parallel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inRevoke, release := make(chan struct{}), make(chan struct{})
	// Only the revocation the test drives waits: the client NewEventConsumer made may
	// run its own group callbacks before it is swapped out below (seen under -race),
	// and one waiting there would hold that client's Close forever.
	var driven atomic.Bool
	h := nopHandler{revoked: func() {
		if driven.Load() {
			close(inRevoke)
			<-release
		}
	}}
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: c.ListenAddrs()}, Topics: Topics{Events: "events"}, Group: "g"}, h)
	if err != nil {
		t.Fatal(err)
	}
	// The test drives the rebalance callbacks itself: swap in a client outside any group.
	ec.cl.Close()
	if ec.cl, err = kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...)); err != nil {
		t.Fatal(err)
	}
	defer ec.cl.Close()
	for _, p := range []int32{0, 1} {
		ps := newPartState(p)
		ps.handled = kgo.EpochOffset{Epoch: -1, Offset: 5}
		ec.parts[p] = ps
	}
	revoked := make(chan struct{})
	driven.Store(true)
	go func() {
		defer close(revoked)
		ec.onRevoked(context.Background(), ec.cl, map[string][]int32{"events": {1}})
	}()
	<-inRevoke
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ec.Commit(ctx)
	}()
	select {
	case <-committed:
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("a commit waited for the revoke handler")
	}
	close(release)
	<-revoked
	if _, owned := ec.Delivered(1); owned {
		t.Error("partition 1 is still owned after its revocation")
	}
}
