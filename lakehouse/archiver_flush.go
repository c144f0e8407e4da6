package lakehouse

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// pendingFile is an encoded batch on its way into the lake.
type pendingFile struct {
	entry    FileEntry
	data     []byte
	uploaded time.Time
}

// flushLoop writes closed files as they come; when ctx ends it waits for the poll loop
// to close the open ones and flushes everything within ShutdownTimeout.
func (a *archiver) flushLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			<-a.pollDone
			return a.finalFlush()
		case <-a.kickCh:
		}
		if err := a.flush(ctx); err != nil {
			if errors.Is(err, errCrash) {
				return err
			}
			if ctx.Err() == nil {
				return err
			}
		}
		select {
		case a.flushed <- struct{}{}:
		default:
		}
	}
}

// ErrFinalFlush is RunArchiver's error when what it held as ctx ended could not be
// written within ShutdownTimeout: the records stay in Kafka, and the next run archives
// them.
var ErrFinalFlush = errors.New("lakehouse: final flush (nothing is lost: the records stay in Kafka)")

// finalFlush writes what is left when the archiver stops, unless it "crashed".
func (a *archiver) finalFlush() error {
	if a.crashed.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := a.flush(ctx); err != nil {
		if errors.Is(err, errCrash) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrFinalFlush, err)
	}
	return nil
}

// flush encodes, uploads and commits every closed file, then commits Kafka offsets.
// On error the files stay queued for the next flush.
func (a *archiver) flush(ctx context.Context) error {
	a.mu.Lock()
	batches := slices.Clone(a.ready)
	covers := maps.Clone(a.covers)
	a.mu.Unlock()
	if len(batches) == 0 && len(covers) == 0 {
		return nil
	}
	started := time.Now()
	slices.SortStableFunc(batches, func(x, y *batch) int {
		if x.partition != y.partition {
			return int(x.partition) - int(y.partition)
		}
		return int(x.start - y.start)
	})

	g, gctx := errgroup.WithContext(ctx)
	slots := a.newEncodeSlots()
	var waited error
	for _, b := range batches {
		if b.encoded != nil {
			continue
		}
		if waited = slots.take(gctx); waited != nil {
			break // an encode failed (g.Wait's error), or ctx ended
		}
		g.Go(func() error {
			defer slots.give()
			if a.cfg.encodeHook != nil {
				a.cfg.encodeHook()
			}
			opts := a.enc
			opts.cachedOutput = true // put back in afterCommit, once uploaded
			data, e, err := encodeBatch(b, opts)
			if err != nil {
				return err
			}
			e.Path = dataName(b.partition, b.hour, e.StartOffset, e.EndOffset)
			e.Created = time.Now().UTC()
			b.encoded = &pendingFile{entry: e, data: data}
			b.release()
			if b.invalidUTF8 > 0 {
				a.met.invalidUTF8.Add(float64(b.invalidUTF8))
				a.log.Warn("archived records whose value is not UTF-8", "partition", b.partition, "count", b.invalidUTF8, "file", e.Path)
			}
			return nil
		})
	}
	if err := cmp.Or(g.Wait(), waited); err != nil {
		return fmt.Errorf("lakehouse: encode: %w", err)
	}
	if err := a.hook("encoded"); err != nil {
		return err
	}

	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(a.cfg.FlushConcurrency)
	for _, b := range batches {
		pf := b.encoded
		// A file uploaded long ago may be near the age at which garbage collection takes
		// it for debris; upload it again (same name, same bytes) before committing it.
		if !refreshDue(pf.uploaded, a.cfg.OrphanGrace) {
			continue
		}
		g.Go(func() error {
			if err := a.hook("upload"); err != nil {
				return err
			}
			var start time.Time // of the upload that succeeded: the object's time is no earlier
			err := a.bo.do(gctx, "put", func(ctx context.Context) error {
				start = time.Now()
				return a.bkt.Put(ctx, pf.entry.Path, bytes.NewReader(pf.data))
			})
			if err != nil {
				return err
			}
			pf.uploaded = start
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := a.hook("uploaded"); err != nil {
		return err
	}

	m, accepted, rejected, err := a.commitBatches(ctx, batches, covers)
	if err != nil {
		return err
	}
	if err := a.hook("committed"); err != nil {
		return err
	}
	if err := a.afterCommit(ctx, m, batches, accepted, rejected, covers); err != nil {
		return err
	}
	a.met.flushSeconds.Observe(time.Since(started).Seconds())
	return nil
}

// encodeSlots bounds the files one flush encodes at once: FlushConcurrency, and one
// more while ArchiverConfig.SpareCore says a core is idle. Encoding is the archiver's
// heaviest work; the live daemon keeps a core for its evaluator, which a backlog of
// the archive may take only while no event waits.
type encodeSlots struct {
	a       *archiver
	mu      sync.Mutex
	running int
	freed   chan struct{} // a slot was given back (buffered 1: a missed wake-up re-checks)
}

// spareRecheck is how often a flush waiting for a slot asks SpareCore again: the
// evaluator may go idle while every slot is busy.
const spareRecheck = 50 * time.Millisecond

func (a *archiver) newEncodeSlots() *encodeSlots {
	return &encodeSlots{a: a, freed: make(chan struct{}, 1)}
}

// take waits for a slot, or for ctx to end.
func (s *encodeSlots) take(ctx context.Context) error {
	cfg := &s.a.cfg
	for {
		spare := false
		s.mu.Lock()
		if s.running >= cfg.FlushConcurrency && cfg.SpareCore != nil {
			spare = s.running == cfg.FlushConcurrency && cfg.SpareCore()
		}
		if s.running < cfg.FlushConcurrency || spare {
			s.running++
			s.mu.Unlock()
			if spare {
				s.a.met.spareEncodes.Inc()
			}
			return nil
		}
		s.mu.Unlock()
		var recheck <-chan time.Time
		if cfg.SpareCore != nil {
			recheck = time.After(spareRecheck)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.freed:
		case <-recheck:
		}
	}
}

// give returns a slot.
func (s *encodeSlots) give() {
	s.mu.Lock()
	s.running--
	s.mu.Unlock()
	select {
	case s.freed <- struct{}{}:
	default:
	}
}
