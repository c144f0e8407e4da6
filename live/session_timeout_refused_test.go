package live_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSessionTimeoutRefusedByTheBrokerStopsTheDaemon: a --session-timeout the brokers
// refuse (below their group.min.session.timeout.ms, 6 s by default; the daemon's own
// check only asks for 100 ms) makes every JoinGroup fail with INVALID_SESSION_TIMEOUT,
// an answer no retry changes. The package contract says the daemon stops with an error
// when "its consumer is refused for good", as it does for an authorization refusal; a
// member that never joins reads nothing, owns no partition and its group's events wait
// for ever while it logs a fetch warning every few seconds. The error names the flag.
func TestSessionTimeoutRefusedByTheBrokerStopsTheDaemon(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2}) // the broker's default minimum, 6 s
	b.Produce(t, livetest.Event("c-1", `{"type":"login"}`))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := live.Start(ctx, live.Config{
		Kafka:          ingest.KafkaConfig{Brokers: []string{b.Addr}},
		HTTPAddr:       "127.0.0.1:0",
		Group:          livetest.Group(t),
		Logger:         testlog.New(t),
		LakeURL:        "file://" + t.TempDir(),
		StateURL:       "file://" + t.TempDir(),
		NoArchive:      true,
		NoBackfill:     true,
		SessionTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("the daemon is still running 20s after start with a session timeout the broker refuses: partitions %v, events seen %d",
			d.Partitions(), d.EventsSeen())
	}
	err = d.Wait()
	if !errors.Is(err, kerr.InvalidSessionTimeout) || !strings.Contains(err.Error(), "--session-timeout") {
		t.Errorf("the daemon stopped with %v, want INVALID_SESSION_TIMEOUT naming --session-timeout", err)
	}
}
