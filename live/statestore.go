package live

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// snapshotKeep is how many snapshots per partition are kept: the newest is restored;
// older ones are the fallback if it cannot be read.
const snapshotKeep = 3

// stateStore names and lists snapshots under prefix/p=NNNN/, one object per snapshot
// named by its offset and write time (causal: snapshotNameTime) so that names sort
// oldest to newest.
type stateStore struct {
	bkt    lakehouse.Bucket
	url    string
	prefix string
}

func newStateStore(bkt lakehouse.Bucket, url, group, topic string) *stateStore {
	return &stateStore{bkt: bkt, url: url, prefix: "state/g=" + nameSegment(group) + "/t=" + nameSegment(topic) + "/"}
}

// nameSegment makes s usable in a Bucket name: kept as is when it only has name
// characters, hex-encoded (and marked) otherwise. A name that starts as the mark does
// is encoded too, so that no two names share a segment: kept, the group "x-612062"
// was the group "a b" encoded, and the two groups' daemons pruned and listed each
// other's snapshots.
func nameSegment(s string) string {
	ok := s != "" && s != "." && s != ".." && !strings.HasPrefix(s, "x-")
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-", c) >= 0
	}
	if ok {
		return s
	}
	return fmt.Sprintf("x-%x", s)
}

func (s *stateStore) partitionPrefix(p int32) string {
	return fmt.Sprintf("%sp=%04d/", s.prefix, p)
}

func (s *stateStore) key(p int32, next int64, at time.Time) string {
	return fmt.Sprintf("%s%020d-%020d.snap", s.partitionPrefix(p), next, at.UnixNano())
}

// list returns partition p's snapshot names, the newest written first (then the
// highest offset): by the times in their names, which a writer sets past every name of
// the partition it restored or wrote (partition.snapshotNameTime), so that a clock
// ahead does not outrank later writes. Not the highest offset first: the store may
// hold snapshots of an earlier log of the topic (recreated, or a new cluster) at
// offsets above the new log's, refused at restore; ranked first, they had prune delete
// every snapshot of the new log as it was stored, and once the new log grew past them,
// a restart restored the old log's counts.
func (s *stateStore) list(ctx context.Context, p int32) ([]string, error) {
	var names []string
	err := s.bkt.List(ctx, s.partitionPrefix(p), func(a lakehouse.ObjectAttributes) error {
		if strings.HasSuffix(a.Name, ".snap") {
			names = append(names, a.Name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing snapshots of partition %d in %s: %w", p, s.url, err)
	}
	slices.SortStableFunc(names, func(a, b string) int {
		aNext, aAt := snapshotName(a)
		bNext, bAt := snapshotName(b)
		if c := cmp.Compare(bAt, aAt); c != 0 {
			return c
		}
		return cmp.Compare(bNext, aNext)
	})
	return names, nil
}

// snapshotName reads the offset and write time (Unix ns) a snapshot's name holds (key);
// -1, -1 for a name key did not make, which sorts last.
func snapshotName(name string) (next, at int64) {
	base := path.Base(name)
	n, a, ok := strings.Cut(strings.TrimSuffix(base, ".snap"), "-")
	next, err1 := strconv.ParseInt(n, 10, 64)
	at, err2 := strconv.ParseInt(a, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return -1, -1
	}
	return next, at
}

// get reads snapshot name, refusing (ErrSnapshotTooLarge) an object longer than a
// snapshot of a body of maxBody bytes seals to (maxSealedLen) before it is read whole:
// the checksum and the claimed size are checked only once the object is in memory, and
// an object of any size planted in the state bucket (or a snapshot written under a far
// larger limit) was read whole first.
func (s *stateStore) get(ctx context.Context, name string, maxBody int64) ([]byte, error) {
	rc, err := s.bkt.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	bound := maxSealedLen(maxBody)
	data, err := io.ReadAll(io.LimitReader(rc, bound+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) <= bound {
		return data, nil
	}
	// The limit named must restore the snapshot when followed: the object must fit
	// that limit's sealed bound, and its body, once read, must fit the limit itself. The
	// object's size alone names less than either (a compressible body is several times
	// its object), and the restart with it refused the same snapshot again; the body's
	// decompressed size is in the S2 block header, in the bytes already read.
	size, needed, claim := "more than "+strconv.FormatInt(bound, 10), maxBody+1, ""
	if len(data) > stateHeaderLen && string(data[:len(stateMagic)]) == stateMagic && data[6] == stateCompressionS2 {
		if n, err := s2.DecodedLen(data[stateHeaderLen:]); err == nil {
			needed = max(needed, int64(n))
			claim = fmt.Sprintf(", its body claims %d bytes decompressed", n)
		}
	}
	if a, err := s.bkt.Attributes(ctx, name); err == nil {
		// Only to name the size: the refusal stands without it.
		size = strconv.FormatInt(a.Size, 10)
		needed = max(needed, minSealingLimit(a.Size))
	}
	return nil, &snapshotSizeError{needed: needed, msg: fmt.Sprintf(
		"%s: the object is %s bytes%s, above the %d a snapshot of at most %d bytes (--max-snapshot-bytes) seals to: damaged, planted, or written under a larger limit (restore it with a limit of at least %d); not read",
		ErrSnapshotTooLarge, size, claim, bound, maxBody, needed)}
}

// minSealingLimit is the smallest --max-snapshot-bytes whose sealed bound
// (maxSealedLen) admits an object of size bytes: get refuses the object under any
// lower one, whatever its body claims.
func minSealingLimit(size int64) int64 {
	lo, hi := int64(0), max(size, 0)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if maxSealedLen(mid) >= size {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// maxSealedLen is the most bytes sealState makes of a body of maxBody bytes: S2's
// encoded bound (s2.MaxEncodedLen, in int64 where it has none: a body near
// MaxSnapshotBytesCap) with the frame's header and checksum.
func maxSealedLen(maxBody int64) int64 {
	n := int64(s2.MaxEncodedLen(int(min(maxBody, math.MaxInt32))))
	if maxBody > math.MaxInt32 || n < 0 {
		// S2's bound is the body, its length's varint (at most 10 bytes) and at most 5
		// bytes of literal headers.
		n = maxBody + 16
	}
	return stateHeaderLen + n + stateTrailerLen
}

// prune deletes all but the newest snapshotKeep snapshots of partition p.
func (s *stateStore) prune(ctx context.Context, p int32) error {
	names, err := s.list(ctx, p)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names[min(len(names), snapshotKeep):] {
		if err := s.bkt.Delete(ctx, n); err != nil && !errors.Is(err, lakehouse.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeStaleTemps deletes what snapshot writes killed mid-Put (kill -9, a crash)
// left in partition p's folder of a file:// store, and says how many. Lake maintenance
// does so for the lake's bucket only: a --state elsewhere, or --no-archive, kept one
// more for every kill during a write. Only those unwritten for
// lakehouse.DefaultOrphanGrace, the grace the daemon's lake maintenance gives them: a
// write in flight moves its file's mtime, and another member may be writing one (the
// partition's previous owner, finishing its snapshot at revocation).
func (s *stateStore) removeStaleTemps(p int32) (int, error) {
	n, err := lakehouse.RemoveStaleTemps(s.bkt, s.partitionPrefix(p), lakehouse.DefaultOrphanGrace)
	if err != nil {
		return n, fmt.Errorf("removing stale temporaries of partition %d's snapshots in %s: %w", p, s.url, err)
	}
	return n, nil
}

// openState opens the snapshot stores: StateURL (default: the lake's bucket) and
// RestoreFrom.
func (d *Daemon) openState(ctx context.Context) error {
	if d.cfg.NoSnapshots {
		return nil
	}
	url := d.cfg.StateURL
	if url == "" {
		url = d.cfg.LakeURL
	}
	bkt, err := lakehouse.OpenBucket(ctx, url, d.storage(d.log))
	if err != nil {
		return fmt.Errorf("live: opening the state store: %w", err)
	}
	d.state = newStateStore(bkt, url, d.cfg.Group, d.cfg.Topics.Events)
	if d.cfg.RestoreFrom != "" {
		bkt, err := lakehouse.OpenBucket(ctx, d.cfg.RestoreFrom, d.storage(d.log))
		if err != nil {
			return fmt.Errorf("live: opening --restore-from: %w", err)
		}
		d.restoreFrom = newStateStore(bkt, d.cfg.RestoreFrom, d.cfg.Group, d.cfg.Topics.Events)
	}
	d.log.Info("partition state", "store", url, "interval", d.cfg.SnapshotInterval, "restore_from", d.cfg.RestoreFrom)
	return nil
}
