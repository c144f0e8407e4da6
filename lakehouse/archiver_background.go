package lakehouse

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// lagLoop publishes how far the lake trails Kafka: per owned partition the records
// beyond the archived watermark (hindsight_lake_lag_records), and per partition of the
// topic, owned by this process or not, hindsight_archive_lag_offsets and
// hindsight_archive_lag_seconds. The latter come from the newest manifest, so they show
// an archive that stalls even when no archiver owns the partition (one killed, its
// session not expired yet): readiness can use them. The loop keeps running while
// storage is down, so lag shows growing.
func (a *archiver) lagLoop(ctx context.Context) {
	adm := kadm.NewClient(a.cl)
	lags := map[int32]*lagSamples{}
	every(ctx, a.cfg.LagInterval, func() {
		buffers.trim()
		lctx, cancel := context.WithTimeout(ctx, a.cfg.LagInterval)
		defer cancel()
		ends, err := adm.ListEndOffsets(lctx, a.cfg.Topic)
		if err != nil {
			return
		}
		// Other archivers commit too: what the lake holds is the newest manifest's.
		if m, _, err := a.store.latest(lctx); err == nil {
			a.mu.Lock()
			a.setBaseLocked(m)
			a.mu.Unlock()
		}
		now := time.Now()
		a.mu.Lock()
		defer a.mu.Unlock()
		base := a.base
		ends.Each(func(o kadm.ListedOffset) {
			if o.Err != nil || o.Topic != a.cfg.Topic || base == nil {
				return
			}
			label := strconv.Itoa(int(o.Partition))
			wm := base.Through(o.Partition)
			st, owned := a.parts[o.Partition]
			if owned {
				// Records refused right after the last file (dead-lettered) were handled:
				// not lag, which /readyz holds to --max-archive-lag.
				if st.refusedTo > wm && wm+1 >= st.next {
					wm = st.refusedTo
				}
				a.met.lag.WithLabelValues(label).Set(float64(max(0, o.Offset-(wm+1))))
			}
			ls := lags[o.Partition]
			if ls == nil {
				ls = &lagSamples{max: a.cfg.MaxLagSamples}
				lags[o.Partition] = ls
			}
			a.met.archiveLagOffsets.WithLabelValues(label).Set(float64(max(0, o.Offset-(wm+1))))
			a.met.archiveLagSeconds.WithLabelValues(label).Set(ls.observe(now, o.Offset, wm+1).Seconds())
		})
	})
}

// lagSamples measures one partition's archive lag in time: how long ago the oldest
// offset the lake does not hold was already in Kafka. Kafka does not say when an offset
// was written without reading it, so the loop keeps (time, end offset) samples: the
// oldest missing offset existed at the time of the first sample whose end is beyond it.
// The answer is a lower bound, short by at most one LagInterval, and counts from this
// process's first sample.
type lagSamples struct {
	max     int
	samples []lagSample // end offsets strictly increasing
}

type lagSample struct {
	at  time.Time
	end int64
}

// observe records that Kafka's end offset is end at now, and returns the lag of a lake
// that holds every offset below covered.
func (l *lagSamples) observe(now time.Time, end, covered int64) time.Duration {
	if n := len(l.samples); n == 0 || end > l.samples[n-1].end {
		l.samples = append(l.samples, lagSample{at: now, end: end})
	}
	// Samples whose offsets are all in the lake are of no further use: covered only grows.
	i := 0
	for i < len(l.samples) && l.samples[i].end <= covered {
		i++
	}
	l.samples = l.samples[i:]
	if len(l.samples) > l.max {
		// Keep the first (it dates the oldest missing offset) and the newest.
		l.samples = append(l.samples[:1], l.samples[len(l.samples)-l.max+1:]...)
	}
	if len(l.samples) == 0 {
		return 0
	}
	return now.Sub(l.samples[0].at)
}

// maintenanceLoop compacts, applies retention and collects garbage every
// CompactInterval, over the partitions this archiver owns at the time.
func (a *archiver) maintenanceLoop(ctx context.Context) {
	every(ctx, a.cfg.CompactInterval, func() {
		rep, err := a.maintainer().run(ctx, a.ownedPartitions())
		if err != nil && ctx.Err() == nil {
			a.log.Warn("maintenance", "err", err)
		}
		if rep.Manifest != nil {
			a.mu.Lock()
			a.setBaseLocked(rep.Manifest)
			a.mu.Unlock()
		}
		a.met.compacted.Add(float64(rep.FilesCompacted))
		a.met.expired.Add(float64(rep.FilesExpired))
		if a.cfg.Retention > 0 {
			a.met.retentionHeld.Set(float64(rep.RetentionHeld))
		}
		a.met.deleted.Add(float64(rep.ObjectsDeleted))
		// Refused pending deletes are a manifest's damage as an unreadable file is.
		a.met.corrupt.Add(float64(rep.CorruptFiles + rep.RefusedDeletes))
		for range rep.ColumnLimited {
			a.limits.Reached(LimitColumns)
		}
	})
}

func (a *archiver) maintainer() *maintainer {
	return &maintainer{
		bkt: a.bkt, store: a.store, log: a.log, bo: a.bo.givingUpOn(maintenanceGivesUpOn...), enc: a.enc, now: a.cfg.now,
		smallBytes: a.cfg.CompactSmallBytes, targetBytes: a.cfg.RollBytes,
		retention: a.cfg.Retention, deleteDelay: a.cfg.DeleteDelay, orphanGrace: a.cfg.OrphanGrace,
		keepManifests: a.cfg.KeepManifests, maxColumns: a.cfg.maxColumns(), columns: a.cfg.Columns,
	}
}

// every runs f each period until ctx ends, starting one period from now. f runs on
// the caller's goroutine, so a slow f delays the next run instead of overlapping it.
func every(ctx context.Context, period time.Duration, f func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f()
	}
}
