package live_test

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
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
	"github.com/twmb/franz-go/pkg/kadm"
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
	// Parallel, as the killed-member test is: each seed has its own broker, lake, group
	// and member process, changes no process-wide state, and spends most of its 9 s
	// waiting out sessions, which held up every other test of -short's serial phase.
	t.Parallel()
	seeds := []uint64{2, 3}
	if testing.Short() {
		// make test runs both. Seed 2 alone missed the stale snapshot: with Lost
		// snapshotting as Revoked does, its fresh member counted as the survivor had,
		// where seed 3's counted the stale state.
		seeds = seeds[1:]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			parallelSeeds(t, len(seeds))
			pausedMember(t, seed, false)
		})
	}
}

func pausedMember(t *testing.T, seed uint64, commitFirst bool) {
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
		// Longer than the paused member's (killedSessionTimeout), so that a rebalance
		// waiting on the paused member ends with its removal, not this member's: kfake
		// times out a member parked in JoinGroup (see waitEventsGroupSettled). And not
		// 1 s: a race-built process stalled past it under load (no heartbeat for 1.2 s),
		// and the fresh member lost its partitions before its figures were read.
		c.SessionTimeout = 4 * time.Second
		// Delivery is not what this test is about, and the paused member's notify stage,
		// killed mid-join, stays in kfake's group with no session timer (see
		// waitEventsGroupSettled): a notify stage joining after it waited the 60 s
		// rebalance timeout, and the fresh member's stop did not end within 30 s.
		c.NoNotify = true
	}
	a, stopA := livetest.StartLive(t, b, cfg)
	waitEventsGroupSettled(t, b, group, 1)
	survivorID := b.GroupMembers(t, group)[0]
	var pausedID atomic.Value
	var fake atomic.Bool
	b.HideHeartbeats(group, func(member string) bool {
		id, _ := pausedID.Load().(string)
		return fake.Load() && member == id
	})

	child := exec.Command(os.Args[0], "-test.run=^TestKilledMemberHelper$", "-test.v")
	child.Env = append(os.Environ(), killedMemberEnv+"="+b.Addr+" "+group+" "+lake+" 4m")
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// The member's own log, shown when the test fails: what it did while resumed is
	// seen nowhere else.
	childLog := filepath.Join(t.TempDir(), "member.log")
	logf, err := os.Create(childLog)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	child.Stderr = logf
	defer func() {
		if t.Failed() {
			if b, err := os.ReadFile(childLog); err == nil {
				t.Logf("the paused member's log:\n%s", b)
			}
		}
	}()
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
	waitEventsGroupSettled(t, b, group, 2)
	for _, id := range b.GroupMembers(t, group) {
		if id != survivorID {
			pausedID.Store(id)
		}
	}
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
	fake.Store(commitFirst)
	if err := child.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, wait, "the resumed member to learn it owns nothing", lossSeen.Load)
	// Rejoined and answered before the kill: a new member killed in JoinGroup may stay in
	// kfake's group for good (waitEventsGroupSettled).
	waitEventsGroupSettled(t, b, group, 2)
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

// waitEventsGroupSettled waits until the events group is Stable with n members, so that
// the pause (SIGSTOP) and the kill land between rebalances, not in one.
//
// kfake (franz-go/pkg/kfake v0.0.0-20260918054303-01f206a7e32c, groups.go) departs from
// Kafka for a member in JoinGroup, as cmd/hindsight's waitSettled says: a member parked
// there keeps its session timer and, when it fires, is removed without an answer (Kafka
// counts a member awaiting a join as heartbeating), and a new member has no session
// timer until its JoinGroup is answered, which a killed one's may never be: it stays a
// member for good, and every later rebalance waits the 60 s rebalance timeout for it.
// Seen with the member's notify stage, killed in a JoinGroup: the fresh member's notify
// stage waited in one, and the fresh member's stop did not end within 30 s (hence
// NoNotify above). What is not exercised here: a member paused or killed in a
// rebalance.
func waitEventsGroupSettled(t *testing.T, b *kafkatest.Broker, group string, n int) {
	t.Helper()
	adm := kadm.NewClient(b.Client(t))
	var why string
	if !poll.WithinEvery(wait, 50*time.Millisecond, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		groups, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			why = err.Error()
			return false
		}
		if g := groups[group]; g.State != "Stable" || len(g.Members) != n {
			why = fmt.Sprintf("group %s with %d members", g.State, len(g.Members))
			return false
		}
		return true
	}) {
		t.Fatalf("timed out after %v waiting for group %s to be Stable with %d members: %s", wait, group, n, why)
	}
}
