package lakehouse

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// offset kinds the property test's topic holds.
const (
	kindEvent   = iota // archived as a row
	kindRefused        // read, dead-lettered by live: covered, no row
	kindAborted        // an aborted transaction's record or its marker: never delivered
)

// accountingWorld is the property test's Kafka partition and what the lake must say of
// it: what was produced, where retention has started the log, where this archiver's
// consumer stands, and which of the lake's files this archiver committed.
type accountingWorld struct {
	t        *testing.T
	rng      *rand.Rand
	a        *archiver
	kinds    []int // by offset: what was produced
	logStart int64
	pos      int64           // the consumer's next offset
	mine     map[string]bool // files this archiver committed: their Deleted ranges are the metric's truth
	rows     map[string][]int64
	rivals   int
	log      []string
}

func (w *accountingWorld) step(format string, args ...any) {
	w.log = append(w.log, fmt.Sprintf(format, args...))
}

func (w *accountingWorld) produce() {
	n := 1 + w.rng.IntN(8)
	events := 2 + 4*w.rng.IntN(2) // some runs are mostly records live dead-letters
	for range n {
		switch r := w.rng.IntN(10); {
		case r < events:
			w.kinds = append(w.kinds, kindEvent)
		case r < 8:
			w.kinds = append(w.kinds, kindRefused)
		default: // an aborted transaction: its records and its marker
			for range 1 + w.rng.IntN(3) {
				w.kinds = append(w.kinds, kindAborted)
			}
		}
	}
	w.step("produce to %d", len(w.kinds)-1)
}

func (w *accountingWorld) retention() {
	hi := int64(len(w.kinds))
	if w.logStart >= hi {
		return
	}
	w.logStart += 1 + w.rng.Int64N(min(hi-w.logStart, 12))
	w.step("retention: log starts at %d", w.logStart)
}

// fetch is one poll of pollLoop: a fetch from the consumer's position (or the log's
// start, past it), its records appended, then the seeks applied.
func (w *accountingWorld) fetch() {
	hi := int64(len(w.kinds))
	from := max(w.pos, w.logStart)
	var recs []*kgo.Record
	if from < hi {
		end := min(hi-1, from+w.rng.Int64N(10))
		for o := from; o <= end; o++ {
			value := `{"n":1}`
			switch w.kinds[o] {
			case kindAborted:
				continue // read_committed: never delivered
			case kindRefused:
				value = `{"n":`
			}
			recs = append(recs, &kgo.Record{Topic: "events", Partition: 0, Offset: o, Key: []byte("c"), Value: []byte(value), Timestamp: time.Unix(1700000000, 0)})
		}
	}
	if len(recs) > 0 {
		w.pos = recs[len(recs)-1].Offset + 1
	}
	w.step("fetch %d records from %d (log start %d)", len(recs), from, w.logStart)
	fp := kgo.FetchTopicPartition{Topic: "events", FetchPartition: kgo.FetchPartition{Partition: 0, Records: recs, LogStartOffset: w.logStart}}
	w.a.append(fetchesOf(fp), time.Now())
	w.seek()
}

// seek applies the seeks as pollLoop does after each fetch; the client then fetches from
// the new position.
func (w *accountingWorld) seek() {
	w.a.mu.Lock()
	s, ok := w.a.seeks[0]
	w.a.mu.Unlock()
	if ok {
		w.pos = s.Through() + 1
		w.step("seek to %d", w.pos)
	}
	w.a.applySeeks()
}

func (w *accountingWorld) roll() {
	w.a.sealAll()
	w.step("roll")
}

// commit is a flush of this archiver: its closed files encoded, uploaded, committed.
func (w *accountingWorld) commit() {
	w.a.mu.Lock()
	held := map[*batch][]int64{}
	for _, b := range w.a.ready {
		held[b] = slices.Clone(b.offsets)
	}
	w.a.mu.Unlock()
	before, _, err := w.a.store.latest(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.a.flush(context.Background()); err != nil {
		w.t.Fatalf("flush: %v\n%s", err, w.history())
	}
	after, _, err := w.a.store.latest(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	for b, offs := range held {
		if b.encoded != nil {
			w.rows[b.encoded.entry.Path] = offs
			// Accepted: listed by this flush's commit, not before it (a rejected file may
			// bear the name of the other writer's file that won).
			if p := b.encoded.entry.Path; after.lists(p) && !before.lists(p) {
				w.mine[p] = true
			}
		}
	}
	w.step("commit")
}

// rival is another writer committing a file from the watermark on, up to an offset
// below, at or above what this archiver holds: it read what the log still had, and
// lists what retention had removed as deleted.
func (w *accountingWorld) rival() {
	m, _, err := w.a.store.latest(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	wm, through := int64(-1), int64(-1)
	if s, ok := m.Partition(0); ok {
		wm, through = s.Watermark, s.Through()
	}
	hi := int64(len(w.kinds))
	var ours []int64 // ends of this archiver's files, open and closed: rivals end near them
	w.a.mu.Lock()
	for _, b := range w.a.ready {
		ours = append(ours, b.start-1, b.start+w.rng.Int64N(b.end()-b.start+1), b.end(), b.end()+1)
	}
	if cur := w.a.parts[0].cur; cur != nil {
		ours = append(ours, cur.start-1, cur.start+w.rng.Int64N(cur.end()-cur.start+1), cur.end(), cur.end()+1)
	}
	w.a.mu.Unlock()
	to := through + 1 + w.rng.Int64N(10)
	if len(ours) > 0 && w.rng.IntN(3) > 0 {
		to = ours[w.rng.IntN(len(ours))]
	}
	to = min(to, hi-1)
	if to <= through {
		return
	}
	if w.rng.IntN(3) == 0 {
		w.rivalCover(wm, through, to)
		return
	}
	e := FileEntry{Partition: 0, StartOffset: wm + 1, EndOffset: to, MinTime: time.Unix(1700000000, 0).UTC(), MaxTime: time.Unix(1700000000, 0).UTC(), Created: time.Now().UTC(), Checked: true}
	var rows []int64
	for o := wm + 1; o <= to; o++ {
		switch {
		case o < w.logStart:
			if n := len(e.Deleted); n > 0 && e.Deleted[n-1].To == o-1 {
				e.Deleted[n-1].To = o
			} else {
				e.Deleted = append(e.Deleted, OffsetRange{From: o, To: o})
			}
		case w.kinds[o] == kindEvent:
			rows = append(rows, o)
		}
	}
	if len(rows) == 0 {
		return // a writer writes no file without a row
	}
	w.rivals++
	e.Rows = int64(len(rows))
	e.Path = dataName(0, hourOf(e.MinTime), e.StartOffset, e.EndOffset)
	_, err = w.a.store.commit(context.Background(), func(m *Manifest) error {
		s, ok := m.Partition(0)
		if ok && s.Watermark != wm {
			return fmt.Errorf("the manifest moved under the rival")
		}
		s.Partition, s.Watermark, s.EmptyAfter = 0, to, 0
		if !ok {
			s.Earliest, s.EarliestTime = e.StartOffset, e.MinTime
		}
		m.setPartition(s)
		m.Files = append(m.Files, e)
		m.refreshEarliest()
		return nil
	})
	if err != nil {
		w.t.Fatalf("rival commit of %d–%d: %v\n%s", e.StartOffset, to, err, w.history())
	}
	w.rows[e.Path] = rows
	w.step("rival commits %d–%d (deleted %v)", e.StartOffset, to, e.Deleted)
}

// rivalCover is another writer recording the records after the lake's Through up to
// to as read, holding no event (EmptyAfter), if they were: none an event, none gone.
func (w *accountingWorld) rivalCover(wm, through, to int64) {
	for o := through + 1; o <= to; o++ {
		if o < w.logStart || w.kinds[o] == kindEvent {
			to = o - 1
			break
		}
	}
	if to <= through {
		return
	}
	_, err := w.a.store.commit(context.Background(), func(m *Manifest) error {
		s, ok := m.Partition(0)
		if ok && s.Watermark != wm || !ok && wm != -1 {
			return fmt.Errorf("the manifest moved under the rival")
		}
		s.Partition, s.Watermark, s.EmptyAfter = 0, wm, to-wm
		m.setPartition(s)
		m.refreshEarliest()
		return nil
	})
	if err != nil {
		w.t.Fatalf("rival cover of %d–%d: %v\n%s", through+1, to, err, w.history())
	}
	w.step("rival covers %d–%d as holding no event", through+1, to)
}

func (w *accountingWorld) history() string {
	start := max(0, len(w.log)-40)
	return fmt.Sprintf("last steps:\n  %s", joinLines(w.log[start:]))
}

func joinLines(ls []string) string {
	out := ""
	for i, l := range ls {
		if i > 0 {
			out += "\n  "
		}
		out += l
	}
	return out
}

// check compares the committed manifest's account of every offset up to the partition's
// Through with what was produced and what retention removed, and the archiver's count of
// offsets deleted unarchived with the offsets its fetches found gone.
func (w *accountingWorld) check() {
	t := w.t
	t.Helper()
	m, _, err := w.a.store.latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := m.Partition(0); ok {
		through := s.Through()
		ways := make([][]string, through+1)
		for _, f := range m.Files {
			rows := map[int64]bool{}
			for _, o := range w.rows[f.Path] {
				rows[o] = true
			}
			for o := f.StartOffset; o <= f.EndOffset; o++ {
				deleted := false
				for _, d := range f.Deleted {
					deleted = deleted || (o >= d.From && o <= d.To)
				}
				switch {
				case rows[o] && deleted:
					ways[o] = append(ways[o], f.Path+" holds it as a row and lists it deleted")
				case rows[o]:
					if w.kinds[o] != kindEvent {
						ways[o] = append(ways[o], f.Path+" holds a row for a record that was no event")
						continue
					}
					ways[o] = append(ways[o], "row")
				case deleted:
					if o >= w.logStart {
						ways[o] = append(ways[o], fmt.Sprintf("%s lists it deleted, but the log still starts at %d", f.Path, w.logStart))
						continue
					}
					ways[o] = append(ways[o], "deleted")
				default:
					if w.kinds[o] == kindEvent {
						ways[o] = append(ways[o], f.Path+" covers this event as read, holding no event: it is lost and not said so")
						continue
					}
					ways[o] = append(ways[o], "covered")
				}
			}
		}
		for o := s.Watermark + 1; o <= through; o++ {
			if w.kinds[o] == kindEvent {
				ways[o] = append(ways[o], "the run without events after the watermark covers this event")
				continue
			}
			ways[o] = append(ways[o], "covered")
		}
		for o := int64(0); o <= through; o++ {
			if len(ways[o]) != 1 || !slices.Contains([]string{"row", "deleted", "covered"}, ways[o][0]) {
				t.Fatalf("offset %d (kind %d, log start %d, watermark %d, through %d) is accounted for as %q, want exactly once and rightly\n%s",
					o, w.kinds[o], w.logStart, s.Watermark, through, ways[o], w.history())
			}
		}
	}
	var want int64
	for _, f := range m.Files {
		if w.mine[f.Path] {
			want += f.DeletedRecords()
		}
	}
	if got := deletedUnarchivedCount(t, w.a); got != float64(want) {
		t.Fatalf("hindsight_lake_deleted_unarchived_total{partition=\"0\"} = %v, want %v: the offsets the Deleted ranges of the files this archiver committed list, each once\n%s",
			got, want, w.history())
	}
}

// TestLakeAccountsForEveryOffsetOnce interleaves at random records produced (events,
// records live dead-letters, aborted transactions), Kafka's retention moving the log's
// start, fetches, file rolls, commits, and other writers committing files that end
// below, at or above this archiver's, with the seeks they cause; after every step each
// offset up to the partition's Through is held as a row, listed deleted, or covered as
// read holding no event by exactly one file or run, rightly: a row only for an event,
// deleted only below the log's start, covered only for what was no event.
func TestLakeAccountsForEveryOffsetOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("random interleavings of the archiver's offset accounting: make test runs it")
	}
	for seed := range uint64(100) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			a := offlineArchiver(t)
			a.log = slog.New(slog.DiscardHandler)
			t.Cleanup(a.releaseAll)
			a.parts[0] = &partState{next: 0, refusedTo: -1, covered: -1}
			w := &accountingWorld{t: t, rng: rand.New(rand.NewPCG(seed, 0x1a4e)), a: a, mine: map[string]bool{}, rows: map[string][]int64{}}
			for range 300 {
				switch r := w.rng.IntN(20); {
				case r < 5:
					w.produce()
				case r < 7:
					w.retention()
				case r < 12:
					w.fetch()
				case r < 14:
					w.roll()
				case r < 17:
					w.commit()
				case r < 19:
					w.rival()
				default:
					w.seek()
				}
				w.check()
			}
		})
	}
}
