package ingest

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestPingWithAHungBrokerListed: --brokers lists a broker that accepts connections and
// never answers (hung, or behind a firewall that drops its packets) before one that is
// up. Ping answers as soon as the one that is up does: a client tries its seeds in
// turn under one deadline, and the hung one took all of it, so `hindsight notify` and
// `archive` refused to start though a broker answered. With none up, it still fails.
func TestPingWithAHungBrokerListed(t *testing.T) {
	t.Parallel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // accepts, reads nothing, answers nothing; ends with the listener
		defer close(done)
		var held []net.Conn
		defer func() {
			for _, conn := range held {
				conn.Close()
			}
		}()
		for {
			conn, err := hung.Accept()
			if err != nil {
				return
			}
			held = append(held, conn)
		}
	}()
	defer func() { hung.Close(); <-done }()

	up := KafkaConfig{Brokers: []string{hung.Addr().String(), c.ListenAddrs()[0]}}
	up.EnsureDefaults()
	if err := up.Ping(context.Background(), 3*time.Second); err != nil {
		t.Errorf("ping of %v (the second up): %v", up.Brokers, err)
	}
	down := KafkaConfig{Brokers: []string{hung.Addr().String()}}
	down.EnsureDefaults()
	if err := down.Ping(context.Background(), 200*time.Millisecond); !errors.Is(err, ErrNoBroker) {
		t.Errorf("ping of the hung broker alone: %v, want ErrNoBroker", err)
	}
}
