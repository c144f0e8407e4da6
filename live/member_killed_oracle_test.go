package live_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

const killedMemberEnv = "HINDSIGHT_TEST_KILLED_MEMBER" // "brokers group lake [snapshot-interval]"

// TestMemberKilledMidStreamMatchesOracle: two live daemons share a consumer group and a
// state store; one of them, a separate process, is killed (SIGKILL) while a batch of
// events is in its hands. After its session times out the survivor takes its
// partitions, restores their newest snapshots and resumes there: its counts and open
// windows must equal a full replay of every event, and the alerts topic must hold
// every alert of the replay (again, with the same alert_id, is allowed after a crash)
// and none other.
func TestMemberKilledMidStreamMatchesOracle(t *testing.T) {
	// Parallel as its seeds are: without it the seeds, which only wait, held up every
	// serial test after them (10 s of -short's serial phase over these four tests).
	t.Parallel()
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		seeds = seeds[:1] // 2 s a seed: make test runs them all
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			// Each seed has its own broker, lake, group and member process, and spends
			// most of its 5 s waiting out the killed member's session: two at a time
			// (the -parallel default here) took the 8 seeds from 40 s to about half.
			parallelSeeds(t, len(seeds))
			killedMemberOracle(t, seed)
		})
	}
}

// killedSessionTimeout is the members' group session timeout (see killedMemberOracle).
const killedSessionTimeout = 3 * time.Second

func killedMemberOracle(t *testing.T, seed uint64) {
	const partitions, customers = 5, 20 // enough customers that each partition gets events, the killed member's among them
	b := kafkatest.Start(t, kafkatest.Options{Partitions: partitions, MinSessionTimeout: 500 * time.Millisecond})
	rules := churnRules(t)
	for _, r := range rules {
		b.Produce(t, livetest.Upsert(t, r))
	}
	lake := "file://" + t.TempDir()
	group := livetest.Group(t)
	a, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.LakeURL = group, lake
		c.ShutdownTimeout = 5 * time.Second
		c.SnapshotInterval = 200 * time.Millisecond
		// Long enough that a loaded machine (CI's other test binaries) does not expire
		// a live member's session between its heartbeats; the killed one's partitions
		// move this long after the kill.
		c.SessionTimeout = killedSessionTimeout
	})

	child := exec.Command(os.Args[0], "-test.run=^TestKilledMemberHelper$", "-test.v")
	child.Env = append(os.Environ(), killedMemberEnv+"="+b.Addr+" "+group+" "+lake)
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// The child's log says what it was doing when the test gave up on it.
	childLog, err := os.Create(t.TempDir() + "/member.log")
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = childLog
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(childLog.Name()); err == nil {
				t.Logf("the killed member's log:\n%s", b)
			}
		}
		childLog.Close()
	})
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// The reader of the child's output ends at its EOF, once the child is gone: Wait,
	// which closes the pipe, comes after it (os/exec).
	scanned := make(chan struct{})
	killed := false
	kill := func() {
		if !killed {
			killed = true
			if t.Failed() {
				// A goroutine dump in its log, for the cleanup below to print.
				_ = child.Process.Signal(syscall.SIGQUIT)
			} else {
				_ = child.Process.Kill()
			}
			<-scanned
			_ = child.Wait()
		}
	}
	defer kill()
	var childSeen, childParts atomic.Int64
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "MEMBER" {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				p, _ := strconv.ParseInt(f[2], 10, 64)
				childSeen.Store(n)
				childParts.Store(p)
			}
		}
	}()
	poll.Until(t, wait, "the partitions split between the two members", func() bool {
		return childParts.Load() > 0 && int64(len(a.Partitions()))+childParts.Load() == partitions
	})

	rng := rand.New(rand.NewPCG(seed, 7))
	gen := workload.New(seed, workload.Config{Customers: customers, Step: time.Second})
	// What the member had seen is read before each batch is produced: it may handle its
	// whole share before the producing returns.
	var history []*kgo.Record
	before := childSeen.Load()
	history = append(history, livetest.ProduceEvents(t, b, gen, 150+rng.IntN(100))...)
	poll.Until(t, wait, "the member to be killed to handle events", func() bool { return childSeen.Load() > before })
	// Past a periodic snapshot or two, then a batch in its hands at the kill. A pause
	// of the seed's length, not a wait: it varies, by seed, how much time (and how
	// many snapshots) passes before the kill.
	time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
	before = childSeen.Load()
	history = append(history, livetest.ProduceEvents(t, b, gen, 150+rng.IntN(100))...)
	poll.Until(t, wait, "the member to be killed to handle part of the batch", func() bool { return childSeen.Load() > before })
	kill()
	history = append(history, livetest.ProduceEvents(t, b, gen, 100)...)
	poll.Until(t, 30*time.Second, "the survivor to own every partition", func() bool { return len(a.Partitions()) == partitions })
	waitCommitted(t, b, a, "after the kill")

	wantAlerts := map[string]bool{}
	for _, r := range rules {
		if !r.Plain() {
			_, open, err := livetest.WindowReplay(history, r, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids, err := livetest.WindowStatusReplay(history, r)
			if err != nil {
				t.Fatal(err)
			}
			for id := range ids {
				wantAlerts[id] = true
			}
			got, _ := a.Counts(r.Key())
			livetest.CheckOpenWindows(t, "rule "+r.Key().String(), livetest.OpenWindows(got), open)
			continue
		}
		want := livetest.FullReplay(history, r)
		got, _ := a.Counts(r.Key())
		have := map[string]int64{}
		for _, c := range got {
			have[c.Customer] += c.Count
		}
		for c, n := range want {
			if have[c] != n {
				t.Errorf("rule %s, customer %s: the survivor counts %d, full replay %d", r.Key(), c, have[c], n)
			}
			if n >= r.Threshold.Count() {
				wantAlerts[contract.AlertID(r.Scope, r.ID, r.Version, c, r.Threshold.Count())+" "+contract.StatusFiring] = true
			}
		}
	}
	got := alertsOnTopic(t, b)
	for id := range got {
		if !wantAlerts[id] {
			t.Errorf("alert %s: not in the replay", id)
		}
	}
	for id := range wantAlerts {
		if got[id] == 0 {
			t.Errorf("alert %s: in the replay, not on the alerts topic", id)
		}
	}
	records := 0
	for _, k := range got {
		records += k
	}
	t.Logf("%d events, %d alerts expected, %d records on the topic", len(history), len(wantAlerts), records)
}

// TestKilledMemberHelper is the member TestMemberKilledMidStreamMatchesOracle kills: a
// live daemon in a process of its own, printing what it handled until killed.
func TestKilledMemberHelper(t *testing.T) {
	env := strings.Fields(os.Getenv(killedMemberEnv))
	if len(env) < 3 {
		t.Skip("the killed member of TestMemberKilledMidStreamMatchesOracle")
	}
	interval := 200 * time.Millisecond
	if len(env) > 3 {
		var err error
		if interval, err = time.ParseDuration(env[3]); err != nil {
			t.Fatal(err)
		}
	}
	d, err := live.Start(context.Background(), live.Config{
		Kafka:            ingest.KafkaConfig{Brokers: []string{env[0]}},
		HTTPAddr:         "127.0.0.1:0",
		Group:            env[1],
		LakeURL:          env[2],
		CommitInterval:   100 * time.Millisecond,
		SnapshotInterval: interval,
		SessionTimeout:   killedSessionTimeout,
		NoArchive:        true,
		NoBackfill:       true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for {
		fmt.Printf("MEMBER %d %d\n", d.EventsSeen(), len(d.Partitions()))
		time.Sleep(2 * time.Millisecond)
	}
}
