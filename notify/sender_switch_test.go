package notify

import (
	"context"
	"testing"
	"time"
)

// TestDeliverSwitchingProtocolsTimesOut: a receiver answers 101 Switching Protocols
// and then says nothing, holding the connection. The doc's timeout covers "the
// answer's headers and its body", and a canceled ctx ends a Deliver: either must end
// this one. The Sender reads the "failed answer's" body with io.ReadAll; for a 101 the
// transport hands back the raw connection as the body, which neither the attempt's
// timeout nor ctx interrupts, so Deliver blocks for as long as the receiver likes.
func TestDeliverSwitchingProtocolsTimesOut(t *testing.T) {
	t.Parallel()
	addr, _, letGo := switchingReceiver(t)
	s := newSender(t, testConfig()) // 300ms per attempt, 3 attempts
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan Outcome, 1)
	go func() {
		done <- s.Deliver(ctx, Target{Name: "x", Type: TypeWebhook, URL: "http://" + addr + secretPath, Secret: testSecret}, testAlert())
	}()
	select {
	case out := <-done:
		if out.Delivered || !out.Final || out.Status != 101 || out.Attempts != 1 {
			t.Errorf("outcome %+v, want one final attempt of status 101, not delivered", out)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("Deliver still running 5s after it began: its 300ms attempt timeout and its ctx (canceled at 2s) did not end it")
		letGo() // let it end, so that no goroutine outlives the test
		t.Logf("outcome once the receiver let go: %+v", <-done)
	}
}
