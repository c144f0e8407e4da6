package live_test

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestPausedMemberDoesNotRewindItsLostPartitions: a member paused (SIGSTOP: a long GC
// pause, a frozen VM) past its session timeout loses its partitions to the other
// member, which restores them, takes a new rule at its position there, counts on and
// snapshots. (The paused member snapshots only when it must, at start and when its
// partitions go: its periodic interval is 4 minutes, so that its state at the pause is
// certainly newer than its last snapshot.) Resumed, the paused member learns its partitions were lost and snapshots
// its stale state of them (before the new rule, at an older offset) into the shared
// store, named after the survivor's: a member that takes the partitions next restores
// that state, not the survivor's, so it rewinds, and it starts the new rule at the
// stale offset, not where the survivor started it: its counts of the rule are not
// the survivor's for the same events. After a clean stop of the survivor and a fresh
// member's start (no new events), the fresh member must hold exactly the survivor's
// rule starts and counts.
func TestPausedMemberDoesNotRewindItsLostPartitions(t *testing.T) {
	seeds := []uint64{2, 3}
	if testing.Short() {
		seeds = seeds[:1] // make test runs both
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { pausedMember(t, seed) })
	}
}

func pausedMember(t *testing.T, seed uint64) {
	const partitions, customers = 5, 20 // enough customers that each partition gets events, the paused member's among them
	b := kafkatest.Start(t, kafkatest.Options{Partitions: partitions, MinSessionTimeout: 500 * time.Millisecond})
	rules := churnRules(t)
	for _, r := range rules {
		b.Produce(t, livetest.Upsert(t, r))
	}
	lake := "file://" + t.TempDir()
	group := livetest.Group(t)
	cfg := func(c *live.Config) {
		c.Group, c.LakeURL = group, lake
		c.ShutdownTimeout = 5 * time.Second
		c.SnapshotInterval = 200 * time.Millisecond
		c.SessionTimeout = time.Second
	}
	a, stopA := livetest.StartLive(t, b, cfg)

	child := exec.Command(os.Args[0], "-test.run=^TestKilledMemberHelper$", "-test.v")
	child.Env = append(os.Environ(), killedMemberEnv+"="+b.Addr+" "+group+" "+lake+" 4m")
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// The reader of the child's output ends at its EOF, once the child is gone: Wait,
	// which closes the pipe, comes after it (os/exec).
	scanned := make(chan struct{})
	defer func() {
		_ = child.Process.Signal(syscall.SIGCONT)
		_ = child.Process.Kill()
		<-scanned
		_ = child.Wait()
	}()
	var childSeen, childParts atomic.Int64
	var resumed, lossSeen atomic.Bool
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "MEMBER" {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				p, _ := strconv.ParseInt(f[2], 10, 64)
				childSeen.Store(n)
				childParts.Store(p)
				if p == 0 && resumed.Load() {
					lossSeen.Store(true)
				}
			}
		}
	}()
	poll.Until(t, wait, "the partitions split between the two members", func() bool {
		return childParts.Load() > 0 && int64(len(a.Partitions()))+childParts.Load() == partitions
	})
	gen := workload.New(seed, workload.Config{Customers: customers, Step: time.Second})
	before := childSeen.Load()
	livetest.ProduceEvents(t, b, gen, 200)
	poll.Until(t, wait, "the member to be paused to handle events", func() bool { return childSeen.Load() > before })
	before = childSeen.Load()
	livetest.ProduceEvents(t, b, gen, 200)
	poll.Until(t, wait, "the member to be paused to handle part of the batch", func() bool { return childSeen.Load() > before })
	if err := child.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "the survivor to own every partition", func() bool { return len(a.Partitions()) == partitions })
	late := livetest.ParseRule(t, `{"id":"late","scope":"*","when":{"path":"$.type","op":"==","value":"file.viewed"},"threshold":1000}`)
	b.Produce(t, livetest.Upsert(t, late))
	waitRule(t, a, late.Key(), 1)
	livetest.ProduceEvents(t, b, gen, 200)
	waitCommitted(t, b, a, "while the other member is paused")
	poll.Until(t, wait, "the survivor's starts of the new rule on every partition", func() bool { return len(a.StartOffsets(late.Key())) == partitions })
	// The survivor's periodic snapshots of what it counted: of every partition, one at
	// the offset it evaluates next, past the new rule's start there, so that it holds
	// the rule (the workload puts events of the last batch in every partition).
	starts := a.StartOffsets(late.Key())
	poll.Until(t, wait, "the survivor's snapshot of every partition with the new rule", func() bool {
		ps := a.State().Partitions
		for _, p := range ps {
			if p.LastSnapshot == nil || p.LastSnapshot.Offset != p.NextOffset || p.NextOffset <= starts[p.Partition] {
				return false
			}
		}
		return len(ps) == partitions
	})

	resumed.Store(true)
	if err := child.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, wait, "the resumed member to learn it owns nothing", lossSeen.Load)
	_ = child.Process.Kill()
	<-scanned
	_ = child.Wait()
	// Resumed, the member may rejoin and take partitions again before it is killed
	// (seen under -race: the survivor's figures then lacked partitions 3 and 4); the
	// survivor takes them back, restores them and counts on before its figures are read.
	poll.Until(t, 30*time.Second, "the survivor to own every partition again", func() bool { return len(a.Partitions()) == partitions })
	poll.Until(t, wait, "the survivor's starts of the new rule on every partition again", func() bool { return len(a.StartOffsets(late.Key())) == partitions })
	waitCommitted(t, b, a, "with the paused member gone")

	wantStarts := a.StartOffsets(late.Key())
	want := map[string]map[string]int64{}
	for _, r := range append(rules, late) {
		if !r.Plain() {
			continue
		}
		got, _ := a.Counts(r.Key())
		want[r.Key().String()] = map[string]int64{}
		for _, c := range got {
			want[r.Key().String()][c.Customer] = c.Count
		}
	}
	stopA()
	<-a.Done()

	fresh, _ := livetest.StartLive(t, b, cfg)
	poll.Until(t, wait, "the fresh member to own every partition", func() bool { return len(fresh.Partitions()) == partitions })
	waitCommitted(t, b, fresh, "by the fresh member")
	if got := fresh.StartOffsets(late.Key()); !maps.Equal(got, wantStarts) {
		t.Errorf("rule %s starts on the fresh member %v, where the survivor started it %v", late.Key(), got, wantStarts)
	}
	for _, r := range append(rules, late) {
		if !r.Plain() {
			continue
		}
		got, _ := fresh.Counts(r.Key())
		have := map[string]int64{}
		for _, c := range got {
			have[c.Customer] = c.Count
		}
		if w := want[r.Key().String()]; !maps.Equal(have, w) {
			t.Errorf("rule %s: the fresh member counts %v, the survivor counted %v for the same events", r.Key(), have, w)
		}
	}
}
