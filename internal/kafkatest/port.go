package kafkatest

import (
	"testing"

	"github.com/hindsightdev/hindsight/internal/heldport"
)

// Port is a loopback port held open for a whole test, so that a broker can be stopped
// and started again on the same address without the port ever being free for another
// process to take in between (closing a listener and listening again on its number
// races with every other program on the machine).
//
// A broker started with Options.Port serves the connections the port accepts; while
// none does (after its Close, before the next Start), connections are accepted and
// closed at once, which clients see as they would a stopped broker.
type Port struct {
	held *heldport.Port
}

// ListenPort holds a port on 127.0.0.1 until t ends.
func ListenPort(t testing.TB) *Port {
	t.Helper()
	p, err := NewPort()
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// NewPort is ListenPort without a testing.TB; the caller must Close it.
func NewPort() (*Port, error) {
	held, err := heldport.Listen()
	if err != nil {
		return nil, err
	}
	return &Port{held: held}, nil
}

// Addr is host:port of the held port.
func (p *Port) Addr() string { return p.held.Addr() }

// Close releases the port. Brokers still serving on it see their listener fail.
func (p *Port) Close() { p.held.Close() }
