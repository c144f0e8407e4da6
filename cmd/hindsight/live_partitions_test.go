package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// live --partitions had no upper bound: --ephemeral --partitions 1000000 started, the
// embedded broker making the events topic with a million partitions, and 30 s later the
// daemon, at 1.6 GB and 70% CPU, was neither refused nor ready. Above
// ingest.MaxPartitions it is refused before anything starts (no data directory made),
// exit status 2 naming the flag, and the help gives the maximum.
func TestLiveRefusesPartitionsAboveTheMaximum(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"4097", "1000000"} {
		dataDir := filepath.Join(t.TempDir(), "data")
		code, out, timedOut := runBounded(t, 30*time.Second, "live", "--data-dir", dataDir, "--http", "127.0.0.1:0", "--embedded-addr", "127.0.0.1:0", "--partitions", n)
		want := "events partitions " + n + " is above the maximum 4096 (--partitions)"
		if code != 2 || timedOut || !strings.Contains(out, want) {
			t.Errorf("live --partitions %s: exit status %d (killed after 30s: %v), want 2 and %q; output:\n%.1500s", n, code, timedOut, want, out)
		}
		if _, err := os.Stat(dataDir); err == nil {
			t.Errorf("live --partitions %s: the daemon started before refusing the flag: it made %s", n, dataDir)
		}
	}
	help, err := run(t, "", "live", "--help")
	if err != nil || !strings.Contains(help, "0: the default; at most 4096") {
		t.Errorf("live --help (%v) does not say what --partitions 0 means or give its maximum:\n%s", err, help)
	}
}

// --partitions 0 is the default, 4, as its help says (the config takes 0 for its
// default), and the maximum is served: a daemon on the embedded broker with 4,096
// partitions owns them all and is ready within seconds.
func TestLivePartitionsZeroIsTheDefaultAndTheMaximumIsServed(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		flag string
		want int
	}{{"0", 4}, {"4096", 4096}} {
		p := startLiveProc(t, t.TempDir(), "partitions-"+c.flag, "--ephemeral", "--embedded-addr", "127.0.0.1:0", "--partitions", c.flag)
		addr := p.waitHTTP(t)
		var rd contract.Readiness
		poll.Until(t, 30*time.Second, fmt.Sprintf("live --partitions %s to be ready with %d partitions", c.flag, c.want), func() bool {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			rd = contract.Readiness{}
			return json.NewDecoder(resp.Body).Decode(&rd) == nil && rd.Ready && len(rd.Partitions) == c.want
		})
		if first, last := rd.Partitions[0], rd.Partitions[len(rd.Partitions)-1]; first != 0 || last != int32(c.want-1) {
			t.Errorf("live --partitions %s owns partitions %d to %d, want 0 to %d", c.flag, first, last, c.want-1)
		}
		p.kill()
	}
}
