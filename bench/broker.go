package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hindsightdev/hindsight/ingest"
)

// BrokerReady prefixes the line a broker child prints once it accepts connections,
// followed by its address.
const BrokerReady = "hindsight-broker listening on "

// brokerChild is the broker running in a child process.
type brokerChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	once  sync.Once
	cpu   time.Duration
}

// startBrokerChild starts the broker child with partitions events partitions, and
// retention bytes per partition of the events and alerts topics (0: keep all).
func startBrokerChild(ctx context.Context, argv []string, partitions int32, retention int64) (*brokerChild, error) {
	args := append(slices.Clone(argv[1:]), "--addr=127.0.0.1:0", fmt.Sprintf("--partitions=%d", partitions))
	if retention > 0 {
		args = append(args, fmt.Sprintf("--retention-bytes=%d", retention))
	}
	cmd := exec.Command(argv[0], args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting broker process %v: %w", argv, err)
	}
	c := &brokerChild{cmd: cmd, stdin: stdin}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), BrokerReady); ok {
				lines <- addr
			}
		}
		close(lines)
	}()
	select {
	case addr, ok := <-lines:
		if !ok {
			c.stop()
			return nil, fmt.Errorf("bench: broker process %v exited without listening", argv)
		}
		c.addr = strings.TrimSpace(addr)
		return c, nil
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, errors.New("bench: broker process did not start within 30s")
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

// cpuNow is the CPU time the child has used so far (from /proc; 0 where unavailable
// or for no child).
func (c *brokerChild) cpuNow() time.Duration {
	if c == nil {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after its closing parenthesis do not.
	_, rest, ok := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	cpu, _ := procTicks(f, 11, 12) // utime stime
	return cpu
}

// stop ends the child (closing its stdin asks it to exit; it is killed after 5s) and
// returns the CPU time it used.
func (c *brokerChild) stop() time.Duration {
	c.once.Do(func() {
		c.stdin.Close()
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
		if ps := c.cmd.ProcessState; ps != nil {
			c.cpu = ps.UserTime() + ps.SystemTime()
		}
	})
	return c.cpu
}

// ServeBroker runs the embedded broker for a parent benchmark: it prints BrokerReady and
// the address on out, and runs until ctx is done or stdin reaches EOF (the parent closed
// it or died).
func ServeBroker(ctx context.Context, cfg ingest.EmbeddedConfig, stdin io.Reader, out io.Writer) error {
	// The broker collects at Go's own GOGC (or the environment's). kfake keeps its log
	// on the Go heap, but in byte slices (its in-memory segment files) that a
	// collection need not scan: marking 500–900 MB of it took 3–8 ms. At GOGC 400 the
	// heap grew to five times the log between collections, much of it into memory the
	// process had never touched, a page fault every 4 KiB inside the one goroutine that
	// serves every request: for seconds at a time the broker used 0.85–0.95 cores
	// instead of 0.6, its copies most of it, and the latency benchmark's probes waited
	// (its worst steps' figures, bench/latency_steps.go).
	e, err := ingest.StartEmbedded(cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	if _, err := fmt.Fprintf(out, "%s%s\n", BrokerReady, e.Addr); err != nil {
		return err
	}
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		close(eof)
	}()
	select {
	case <-ctx.Done():
	case <-eof:
	}
	return nil
}
