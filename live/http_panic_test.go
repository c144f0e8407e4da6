package live

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/httpguard"
	"github.com/hindsightdev/hindsight/internal/testlog"
)

// A panic in one of the daemon's handlers was left to net/http, which dropped the
// connection unanswered: the client (the console page, a script) read EOF, not the
// JSON error body the API answers every other failure with. Through the daemon's guard
// it must be a 500 in JSON with the security headers, and the server serve on.
func TestDaemonHandlerPanicIsAnswered500InJSON(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{cfg: Config{HTTPMaxBodyBytes: 1 << 20}, log: testlog.New(t)}
	ws := &webState{hosts: httpguard.NewHosts("127.0.0.1:0", ln.Addr(), nil)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("a handler's bug") })
	mux.HandleFunc("GET /fine", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "fine") })
	srv := &http.Server{Handler: d.guard(ws, mux), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	})
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + ln.Addr().String() + "/boom")
	if err != nil {
		t.Fatalf("GET /boom: %v; want a 500 answer", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/json" ||
		!strings.Contains(string(body), `"error":"`) || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("GET /boom: %d %q %q; want 500 with a JSON error body and the security headers", resp.StatusCode, resp.Header, body)
	}
	resp, err = client.Get("http://" + ln.Addr().String() + "/fine")
	if err != nil {
		t.Fatalf("GET /fine after the panic: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "fine" {
		t.Errorf("GET /fine after the panic: %d %q", resp.StatusCode, body)
	}
}
