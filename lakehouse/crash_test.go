package lakehouse_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/testwide"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// producer keeps producing batches in the background until total events exist.
func backgroundProducer(t *testing.T, h *history, cl *kgo.Client, total, batch int, every time.Duration) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for sent := 0; sent < total; sent += batch {
			h.produce(t, cl, min(batch, total-sent))
			time.Sleep(every)
		}
	})
	return wg.Wait
}

// crashAt returns a fault hook that crashes at the n-th time point is reached
// ("any" picks each point with probability 1/n instead).
func crashAt(point string, n int, rng *rand.Rand) func(string) error {
	var hits atomic.Int64
	var mu sync.Mutex
	return func(p string) error {
		if point == "any" {
			mu.Lock()
			defer mu.Unlock()
			if rng.IntN(n) == 0 {
				return fmt.Errorf("crash at %s", p)
			}
			return nil
		}
		if p == point && hits.Add(1) == int64(n) {
			return fmt.Errorf("crash at %s", p)
		}
		return nil
	}
}

// TestCrashRecoveryExactlyOnce kills the archiver (in process: it stops on the spot
// without flushing or cleaning up; closing its client still leaves the group, see
// TestKillArchiverProcess for a crash that does not) at each crash point — mid-file
// (records buffered, or upload in flight), between file write and manifest commit,
// between manifest commit and Kafka offset commit, just after the offset commit —
// several times while events keep arriving, restarts it, and checks that every
// produced offset is archived exactly once.
func TestCrashRecoveryExactlyOnce(t *testing.T) {
	// Not parallel: it reads the buffer cache the whole process shares (BuffersOutstanding).
	if testing.Short() {
		t.Skip("slow: crash harness; runs in make test")
	}
	points := []string{"poll", "encoded", "upload", "uploaded", "committed", "any", "offsets-committed"}
	for i, point := range points {
		kind := bucketKinds[i%len(bucketKinds)]
		t.Run(point+"/"+kind, func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 7))
			b, bkt, lake := brokerAndLake(t, 4, kind)
			h := newHistory(seed)
			cl := b.Client(t)
			wait := backgroundProducer(t, h, cl, 8000, 400, 40*time.Millisecond)

			crashes := 0
			offsetsBehind := false
			for round := range 5 {
				h.produce(t, cl, 1000) // work for this round, whatever the background producer does
				cfg := archiverConfig(b, bkt, "crashy")
				n := 1 + rng.IntN(4)
				if point == "any" {
					n = 10 + rng.IntN(30)
				}
				lakehouse.SetFaultHook(&cfg, crashAt(point, n, rng))
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := lakehouse.RunArchiver(ctx, cfg)
				cancel()
				switch {
				case lakehouse.IsCrash(err):
					crashes++
					t.Logf("round %d: %v", round, err)
				case err != nil:
					t.Fatalf("round %d: archiver failed: %v", round, err)
				default:
					t.Logf("round %d: no crash within 10s", round)
				}
				if point == "committed" && lakehouse.IsCrash(err) {
					// The manifest moved on, Kafka's committed offsets did not.
					snap, _ := lake.Snapshot(context.Background())
					offs, ferr := kadm.NewClient(cl).FetchOffsets(context.Background(), "crashy")
					if ferr == nil && snap != nil {
						for _, ps := range snap.Partitions() {
							if o, ok := offs.Lookup("events", ps.Partition); !ok || o.At < ps.Watermark+1 {
								offsetsBehind = true
							}
						}
					}
				}
			}
			wait()
			if crashes < 3 {
				t.Errorf("only %d of 5 runs crashed: the fault points were not exercised", crashes)
			}
			if point == "committed" && !offsetsBehind {
				t.Error("no crash left Kafka offsets behind the manifest")
			}
			stop := startArchiver(t, archiverConfig(b, bkt, "crashy"))
			snap := archiveAll(t, lake, h, 60*time.Second, stop)
			checkExactlyOnce(t, lake, snap, h)
			if n := lakehouse.BuffersOutstanding(); n != 0 {
				t.Errorf("%d bytes of archive buffers not given back after the crashes", n)
			}
			t.Logf("%d crashes, %d events, %d files, manifest v%d", crashes, len(h.recs), len(snap.Files(lakehouse.Filter{})), snap.Version())
		})
	}
}

// TestMain doubles as the archiver process that TestKillArchiverProcess kills.
func TestMain(m *testing.M) {
	if os.Getenv("LAKE_CHILD_BROKER") != "" {
		os.Exit(runChildArchiver())
	}
	testwide.Short(4)
	// Fails the binary if a test left a goroutine running, or archive buffers (outside
	// the Go heap, so lost for good) not given back. franz-go's fetch manager, one per
	// consumer session, once outlived its closed client here (v1.22.3, CI 2026-12-03:
	// it loops until it counts no fetch in flight or wanted, and was still looping with
	// every other goroutine of the client gone); no call of ours can end it, so it alone
	// is let go, every other goroutine of a client still counts.
	goleak.VerifyTestMain(buffersReturned{m},
		goleak.IgnoreTopFunction("github.com/twmb/franz-go/pkg/kgo.(*fetchManager).manageFetchConcurrency"))
}

type buffersReturned struct{ m *testing.M }

func (b buffersReturned) Run() int {
	code := b.m.Run()
	if n := lakehouse.BuffersOutstanding(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "%d bytes of archive buffers were not given back\n", n)
		return 1
	}
	return code
}

func runChildArchiver() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bkt, err := lakehouse.OpenBucket(ctx, os.Getenv("LAKE_CHILD_BUCKET"), lakehouse.StorageConfig{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg := lakehouse.ArchiverConfig{
		Brokers: []string{os.Getenv("LAKE_CHILD_BROKER")}, Group: "killed", Bucket: bkt,
		RollBytes: 64 << 10, RollAge: 100 * time.Millisecond, CompactInterval: -1,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Logger: quietLog,
		KafkaOpts: []kgo.Opt{kgo.FetchMaxWait(100 * time.Millisecond), kgo.InstanceID("child"), kgo.SessionTimeout(6 * time.Second)},
	}
	if st := os.Getenv("LAKE_CHILD_SESSION_TIMEOUT"); st != "" {
		// TestArchivingResumesWithinSessionTimeout: a dynamic member whose session is
		// the archiver's own setting, as `hindsight live` configures it.
		d, err := time.ParseDuration(st)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		cfg.Group, cfg.SessionTimeout = os.Getenv("LAKE_CHILD_GROUP"), d
		cfg.KafkaOpts = []kgo.Opt{kgo.FetchMaxWait(100 * time.Millisecond)}
	}
	if err := lakehouse.RunArchiver(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestKillArchiverProcess runs the archiver as a real process and SIGKILLs it at random
// moments while events arrive, then checks exactly-once after a final clean run.
func TestKillArchiverProcess(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow: kill -9 harness; runs in make test")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	dir := t.TempDir()
	url := "file://" + dir
	bkt, err := lakehouse.OpenBucket(context.Background(), url, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer bkt.Close()
	lake := lakehouse.NewLake(bkt, testLogger())
	h := newHistory(seed)
	cl := b.Client(t)
	wait := backgroundProducer(t, h, cl, 15000, 100, 50*time.Millisecond)

	advanced := 0
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "LAKE_CHILD_BROKER="+b.Addr, "LAKE_CHILD_BUCKET="+url)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		before, _ := lake.Snapshot(context.Background())
		// Kill at a random moment once the child is at work (it has committed since it
		// started): mid-file, mid-upload, between upload and commit, or after.
		started := time.Now()
		for deadline := started.Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if s, err := lake.Snapshot(context.Background()); err == nil && s.Version() > before.Version() {
				break
			}
		}
		time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
		life := time.Since(started)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended by itself: %v\n%s", round, err, stderr.String())
		}
		after, _ := lake.Snapshot(context.Background())
		t.Logf("round %d: killed after %v; manifest v%d -> v%d", round, life, before.Version(), after.Version())
		if after.Version() > before.Version() {
			advanced++
		}
	}
	wait()
	if advanced < 3 {
		t.Fatalf("only %d of 6 killed processes committed anything: the kills did not hit working archivers", advanced)
	}
	cfg := archiverConfig(b, bkt, "killed")
	cfg.KafkaOpts = append(cfg.KafkaOpts, kgo.InstanceID("child"), kgo.SessionTimeout(6*time.Second))
	stop := startArchiver(t, cfg)
	snap := archiveAll(t, lake, h, 90*time.Second, stop)
	checkExactlyOnce(t, lake, snap, h)
	t.Logf("%d events, %d files, manifest v%d", len(h.recs), len(snap.Files(lakehouse.Filter{})), snap.Version())
}
