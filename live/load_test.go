//go:build linux

package live_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// The flood comes from a child process (this test binary, running
// TestLoadFloodHelper): its sockets then take its own descriptors, not the daemon's,
// as a flood from other machines would.
const (
	floodAddrEnv  = "HINDSIGHT_TEST_FLOOD_ADDR"
	floodConns    = 20_000
	floodDialers  = 2_000 // dials in flight at once
	fdLimit       = 4096  // the daemon process's open-files limit in the test
	connectionCap = 512
)

// TestLoadIdleConnections: 20,000 idle connections against the daemon's HTTP listener,
// in a process limited to 4096 open files, with a connection cap of 512. The cap is
// reached and counted, the server never holds more than the cap, the process never
// comes near its limit, and meanwhile events keep being counted, the lake keeps
// committing files and snapshots keep being stored, without a single storage failure.
// Once the flood is gone, a new connection gets /healthz and /readyz.
func TestLoadIdleConnections(t *testing.T) {
	// Not parallel: it limits the process's open files and counts them.
	if testing.Short() {
		t.Skip("load test, alone (it limits the process's open files): make test runs it")
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if old.Max < fdLimit {
		t.Skipf("the hard limit of open files is %d, below the %d this test runs with", old.Max, fdLimit)
	}
	// Registered first, so it runs last: after the daemon and broker have stopped.
	t.Cleanup(func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Errorf("restoring the open-files limit: %v", err)
		}
	})
	lowered := syscall.Rlimit{Cur: fdLimit, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Fatal(err)
	}

	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	d := startHTTPDaemonOn(t, b, func(c *live.Config) {
		c.NoArchive = false
		c.LakeURL = "file://" + t.TempDir()
		c.StateURL = "file://" + t.TempDir()
		c.ArchiveRollAge = 200 * time.Millisecond
		// A snapshot's store is bounded by the interval: at 200 ms, a file write on a
		// machine loaded by other test packages overran it, from the start, before any
		// flood (10 failures in one live package run beside three others).
		c.SnapshotInterval = time.Second
		c.HTTPMaxConnections = connectionCap
	})
	r := livetest.ParseRule(t, `{"id":"any","scope":"*","when":{"path":"$.type"},"threshold":1000000000}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d.Daemon, r.Key(), 1)

	// Events flow for the whole test.
	cl := b.Client(t, kgo.ProducerLinger(0))
	stopEvents := make(chan struct{})
	var produced, produceErrs atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopEvents:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := cl.ProduceSync(ctx, ev(fmt.Sprintf("c-%d", i%50), downloaded)).FirstErr()
			cancel()
			if err != nil {
				produceErrs.Add(1)
			} else {
				produced.Add(1)
			}
		}
	}()
	defer func() {
		close(stopEvents)
		wg.Wait()
	}()

	progress := func() (events, snapshots, files float64) {
		return float64(d.EventsSeen()), d.metric(t, "hindsight_snapshots_total"), d.metric(t, "hindsight_lake_files_committed_total")
	}
	poll.Until(t, 60*time.Second, "events, snapshots and lake files before the flood", func() bool {
		e, s, f := progress()
		return e > 0 && s > 0 && f > 0
	})
	baseFDs := openFDs(t)

	// The flood.
	child := exec.Command(os.Args[0], "-test.run=^TestLoadFloodHelper$", "-test.v")
	child.Env = append(os.Environ(), floodAddrEnv+"="+d.HTTPAddr())
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	childDone := make(chan error, 1)
	report := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "FLOOD ") {
				report <- line
			}
		}
		childDone <- child.Wait()
	}()
	flooding := true
	endFlood := func() {
		if flooding {
			flooding = false
			stdin.Close() // the child closes every connection and exits
			select {
			case err := <-childDone:
				if err != nil {
					t.Errorf("the flooding process: %v", err)
				}
			case <-time.After(60 * time.Second):
				_ = child.Process.Kill()
				t.Errorf("the flooding process did not exit")
			}
		}
	}
	defer endFlood()
	var line string
	select {
	case line = <-report:
		t.Logf("%s", line)
	case <-time.After(3 * time.Minute):
		t.Fatal("the flooding process did not finish dialing")
	}

	// During the flood: the cap is reached and held, storage keeps working.
	if n := d.reached(t, "http_max_connections"); n < 1 {
		t.Errorf("the connection cap was never reached (%v)", n)
	}
	e0, s0, f0 := progress()
	maxFDs, maxConns := 0, 0.0
	poll.Until(t, 60*time.Second, "events, snapshots and lake files to advance during the flood", func() bool {
		maxFDs = max(maxFDs, openFDs(t))
		maxConns = max(maxConns, d.metric(t, "hindsight_http_connections_open"))
		e, s, f := progress()
		return e > e0 && s > s0+2 && f > f0+2
	})
	e1, s1, f1 := progress()
	t.Logf("during the flood: events %v → %v, snapshots %v → %v, lake files %v → %v; connections held ≤ %v; open files %d before, ≤ %d during (limit %d)",
		e0, e1, s0, s1, f0, f1, maxConns, baseFDs, maxFDs, fdLimit)
	if maxConns > connectionCap {
		t.Errorf("the server held %v connections, over the cap %d", maxConns, connectionCap)
	}
	if maxFDs > baseFDs+connectionCap+64 {
		t.Errorf("%d files open during the flood: more than the %d before and the cap %d allow", maxFDs, baseFDs, connectionCap)
	}
	if n := d.metric(t, "hindsight_snapshot_failures_total"); n != 0 {
		t.Errorf("%v snapshots failed during the flood", n)
	}
	if n := d.metric(t, "hindsight_lake_storage_errors_total"); n != 0 {
		t.Errorf("%v lake storage operations failed during the flood", n)
	}
	endFlood()

	// After it: a new connection is served.
	poll.Until(t, 60*time.Second, "/healthz and /readyz from a new connection", func() bool {
		resp, err := (&httpClientNoReuse).Get(d.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		code, _ := readyz(t, d)
		return resp.StatusCode == 200 && code == 200
	})
	if produceErrs.Load() != 0 {
		t.Errorf("%d events could not be produced", produceErrs.Load())
	}
}

// httpClientNoReuse dials a new connection for each request: the check after the flood
// must come from a connection made after it.
var httpClientNoReuse = http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// openFDs counts this process's open file descriptors; when it cannot even open the
// listing, the process is out of them.
func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Errorf("counting open files: %v", err)
		return fdLimit
	}
	return len(es)
}

// TestLoadFloodHelper is the flooding process of TestLoadIdleConnections: it dials
// floodConns connections to $HINDSIGHT_TEST_FLOOD_ADDR, floodDialers at a time, sends
// nothing on them, reports how many it opened, holds them until its stdin closes, and
// closes them all. It does nothing in a normal test run.
func TestLoadFloodHelper(t *testing.T) {
	addr := os.Getenv(floodAddrEnv)
	if addr == "" {
		t.Skip("the flooding process of TestLoadIdleConnections")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max // this process's sockets are the flood: let it open as many as it may
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	var (
		mu       sync.Mutex
		conns    []net.Conn
		failures = map[string]int{}
		next     atomic.Int64
		wg       sync.WaitGroup
		dialer   = net.Dialer{Timeout: time.Second}
		classOf  = func(err error) string {
			var errno syscall.Errno
			switch {
			case errors.As(err, &errno):
				return errno.Error()
			case os.IsTimeout(err):
				return "timeout"
			}
			return "other"
		}
	)
	for range floodDialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= floodConns {
				c, err := dialer.Dial("tcp", addr)
				mu.Lock()
				if err != nil {
					failures[classOf(err)]++
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Printf("FLOOD attempted=%d opened=%d failed=%v (open-files limit %d)\n", floodConns, len(conns), failures, lim.Cur)
	_, _ = io.Copy(io.Discard, os.Stdin) // held until the test closes our stdin
	for _, c := range conns {
		c.Close()
	}
}
