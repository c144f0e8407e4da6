package kafkatest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A broker restarted on a held Port keeps its address and its log, and while it is
// down the port is still held: connections are closed at once, never refused.
func TestBrokerRestartsOnHeldPort(t *testing.T) {
	port := ListenPort(t)
	opts := Options{Partitions: 1, DataDir: t.TempDir(), Port: port}
	b, err := StartBroker(opts)
	if err != nil {
		t.Fatal(err)
	}
	if b.Addr != port.Addr() {
		t.Fatalf("broker on %s, port %s", b.Addr, port.Addr())
	}
	b.Produce(t, &kgo.Record{Topic: "events", Value: []byte("before")})
	b.Close()

	// Down: the port accepts and drops; nobody else can listen on it.
	if ln, err := net.Listen("tcp", port.Addr()); err == nil {
		ln.Close()
		t.Fatalf("%s could be taken while the broker was down", port.Addr())
	}
	c, err := net.DialTimeout("tcp", port.Addr(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial while down: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Errorf("read from the down port: %d bytes, %v; want the connection closed", n, err)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("the down port held the connection open")
	}
	c.Close()

	b2, err := StartBroker(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if b2.Addr != b.Addr {
		t.Fatalf("restarted on %s, was %s", b2.Addr, b.Addr)
	}
	b2.Produce(t, &kgo.Record{Topic: "events", Value: []byte("after")})
	recs := b2.Consume(t, "events", 2, 30*time.Second)
	if len(recs) != 2 || string(recs[0].Value) != "before" || string(recs[1].Value) != "after" {
		t.Fatalf("read %d records back across the restart, want before and after", len(recs))
	}
	if err := b2.Client(t).Ping(context.Background()); err != nil {
		t.Errorf("ping: %v", err)
	}
}
