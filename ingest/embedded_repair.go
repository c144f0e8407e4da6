package ingest

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// This file repairs, before kfake opens it, what kfake's loader leaves broken in a
// data directory after a torn write (a power loss without fsync, a disk fault), and
// refuses what it cannot repair. kfake (persist.go) cannot be changed here, so the
// framing below mirrors its on-disk format byte for byte; a kfake upgrade that
// changes that format must change this file too (docs/architecture.md, "Package
// `ingest`").

// ErrEmbeddedOffsetsLost is StartEmbedded's error when a partition's log on disk ends
// before the offsets the broker had already given out (a torn last record batch):
// started as it is, the broker would give those offsets to new events.
var ErrEmbeddedOffsetsLost = errors.New("ingest: the embedded broker's data directory lost acknowledged records")

// kfake's framing constants (persist.go): an append-log entry's header (length,
// CRC-32C, version), an index entry's size, and the most a segment's batch may claim.
const (
	kfakeEntryHeaderSize = 10
	kfakeIndexEntrySize  = 15
	kfakeIndexVersion    = 1
	kfakeMaxBatchLength  = 1 << 30
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// repairDataDir checks and repairs the data directory dir before kfake loads it.
// Each repair is logged at warn, naming the file and what was cut, and counted by
// counted. A partition whose acknowledged offsets are gone is refused
// (ErrEmbeddedOffsetsLost) unless acceptLost, when its files are cut to the records
// left (logged as an error, records being lost, and counted) and the broker will
// give those offsets again.
func repairDataDir(dir string, acceptLost bool, log *slog.Logger, counted func()) error {
	pdirs, err := os.ReadDir(filepath.Join(dir, "partitions"))
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("ingest: reading the embedded broker's partitions to check them: %w", err)
	}
	var lost []error
	for _, d := range pdirs {
		if !d.IsDir() {
			continue
		}
		if err := repairPartition(filepath.Join(dir, "partitions", d.Name()), acceptLost, log, counted); err != nil {
			lost = append(lost, err)
		}
	}
	if len(lost) > 0 {
		return errors.Join(lost...)
	}
	for _, name := range []string{"groups.log", "pids.log"} {
		if err := repairEntryLog(filepath.Join(dir, name), log, counted); err != nil {
			return err
		}
	}
	return nil
}

// repairEntryLog cuts an append log (groups.log, pids.log) back to its last whole,
// valid entry. kfake's loader stops at the first bad entry but leaves the file as it
// is and appends after it, so every entry written in the next run would be behind
// the bad one and dropped at the start after.
func repairEntryLog(path string, log *slog.Logger, counted func()) error {
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ingest: reading %s to check it: %w", path, err)
	}
	valid := validEntryBytes(raw)
	if valid == len(raw) {
		return nil
	}
	if err := os.Truncate(path, int64(valid)); err != nil {
		return fmt.Errorf("ingest: cutting the corrupt tail off %s: %w", path, err)
	}
	counted()
	log.Warn("the embedded broker's data directory had a corrupt or torn entry: cut back to the last whole entry (what it held is lost)",
		"file", path, "cut_bytes", len(raw)-valid, "kept_bytes", valid, "kind", StorageCorrupt)
	return nil
}

// validEntryBytes is how many bytes of raw are whole, valid entries, as kfake's
// readEntries reads them: [4 length LE][4 CRC-32C LE of the rest][2 version][data],
// the length counting version and data.
func validEntryBytes(raw []byte) int {
	pos := 0
	for pos+kfakeEntryHeaderSize <= len(raw) {
		length := int(binary.LittleEndian.Uint32(raw[pos : pos+4]))
		if length < 2 || pos+8+length > len(raw) {
			break
		}
		if crc32.Checksum(raw[pos+8:pos+8+length], crc32c) != binary.LittleEndian.Uint32(raw[pos+4:pos+8]) {
			break
		}
		pos += 8 + length
	}
	return pos
}

// segBatch is a whole, valid record batch of a segment file.
type segBatch struct {
	end   int64 // the offset after its last record
	epoch int32
	maxTS int64
	inTx  bool
}

// scanSegment reads raw (a .dat file) as kfake's loadSegmentBatches does: Kafka
// record batches back to back, up to the first that is cut short or fails its CRC.
// valid is how many bytes those whole batches take.
func scanSegment(raw []byte) (batches []segBatch, valid int) {
	for valid+12 <= len(raw) {
		length := int(binary.BigEndian.Uint32(raw[valid+8 : valid+12]))
		if length > kfakeMaxBatchLength || valid+12+length > len(raw) {
			break
		}
		b := raw[valid : valid+12+length]
		if len(b) >= 21 && binary.BigEndian.Uint32(b[17:21]) != crc32.Checksum(b[21:], crc32c) {
			break
		}
		var rb kmsg.RecordBatch
		if rb.ReadFrom(b) != nil {
			break
		}
		batches = append(batches, segBatch{
			end:   rb.FirstOffset + int64(rb.LastOffsetDelta) + 1,
			epoch: rb.PartitionLeaderEpoch,
			maxTS: rb.MaxTimestamp,
			// kfake writes a data batch of a transaction with its index flag set
			// (pushBatch's txnal: the transactional attribute) and a control batch
			// without; its replay after a crash finds aborted transactions by it.
			inTx: rb.Attributes&0x10 != 0 && rb.Attributes&0x20 == 0,
		})
		valid += len(b)
	}
	return batches, valid
}

// indexEntry encodes a batch's .idx entry as kfake's encodeIndexEntry does:
// [1 version][1 low byte of CRC-32C of the rest][4 epoch LE][8 max earlier
// timestamp LE][1 flags, bit 0 in a transaction]. kfake recomputes the timestamp at
// load, so the batch's own max timestamp stands in for the running one.
func indexEntry(b segBatch) []byte {
	buf := make([]byte, kfakeIndexEntrySize)
	buf[0] = kfakeIndexVersion
	binary.LittleEndian.PutUint32(buf[2:6], uint32(b.epoch))
	binary.LittleEndian.PutUint64(buf[6:14], uint64(b.maxTS))
	if b.inTx {
		buf[14] = 1
	}
	buf[1] = byte(crc32.Checksum(buf[2:], crc32c))
	return buf
}

// kfakeSnapshot is the part of kfake's snapshot.json (persistPartSnapshot) read here.
// kfake writes it at a clean stop (and into a new directory), not after each write:
// after a crash it is an earlier stop's, or absent.
type kfakeSnapshot struct {
	HighWatermark int64 `json:"high_watermark"`
	Segments      []struct {
		BaseOffset int64 `json:"base_offset"`
		Size       int64 `json:"size"`
	} `json:"segments"`
}

// segment is a .dat file of a partition as found on disk.
type segment struct {
	base       int64
	path       string
	size       int
	valid      int
	batches    []segBatch
	idxEntries int // whole entries of its .idx
}

// repairPartition checks a partition directory pdir. Its log must not end before an
// offset kfake had given out: kfake sets the log's end to its last whole batch,
// whatever snapshot.json says, and would give the lost offsets to new events (the
// lake and live's snapshots key on offsets). The evidence of a lost tail: the last
// clean stop's snapshot.json records a segment longer than its whole batches
// and the log ending beyond them; or the last segment's .idx holds entries for more
// batches than its .dat (kfake writes the batch, then its entry, then acknowledges).
// A tail lost after a crash whose snapshot.json is older and whose .idx was torn
// with it is not seen. Then it rebuilds index entries a torn .idx lacks: kfake reads
// a missing entry as "not in a transaction", and appends the next run's entries
// after the torn one, each then read as another batch's.
func repairPartition(pdir string, acceptLost bool, log *slog.Logger, counted func()) error {
	ents, err := os.ReadDir(pdir)
	if err != nil {
		return fmt.Errorf("ingest: reading partition directory %s to check it: %w", pdir, err)
	}
	var segs []*segment
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".dat")
		if !ok {
			continue
		}
		base, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			continue // kfake skips it too
		}
		s := &segment{base: base, path: filepath.Join(pdir, e.Name())}
		raw, err := os.ReadFile(s.path)
		if err != nil {
			return fmt.Errorf("ingest: reading segment %s to check it: %w", s.path, err)
		}
		s.size = len(raw)
		s.batches, s.valid = scanSegment(raw)
		if fi, err := os.Stat(idxPath(s)); err == nil {
			s.idxEntries = int(fi.Size() / kfakeIndexEntrySize)
		}
		segs = append(segs, s)
	}
	if len(segs) == 0 {
		return nil
	}
	slices.SortFunc(segs, func(a, b *segment) int { return int(a.base - b.base) })
	last := segs[len(segs)-1]
	end := int64(0) // kfake's full replay starts an empty log at 0
	for _, s := range segs {
		if n := len(s.batches); n > 0 {
			end = s.batches[n-1].end
		}
	}

	var lostTo int64 = -1 // the end kfake had given out, when known
	var lostWhy []string
	var snap kfakeSnapshot
	snapPath := filepath.Join(pdir, "snapshot.json")
	if b, err := os.ReadFile(snapPath); err == nil && json.Unmarshal(b, &snap) == nil && snap.HighWatermark > end {
		for _, ss := range snap.Segments {
			for _, s := range segs {
				if s.base == ss.BaseOffset && int64(s.valid) < ss.Size {
					lostTo = snap.HighWatermark
					lostWhy = append(lostWhy, fmt.Sprintf("%s holds %d bytes of whole record batches, %s recorded %d at the last clean stop", s.path, s.valid, snapPath, ss.Size))
				}
			}
		}
	}
	if last.idxEntries > len(last.batches) {
		lostWhy = append(lostWhy, fmt.Sprintf("%s indexes %d record batches, %s holds %d whole", idxPath(last), last.idxEntries, last.path, len(last.batches)))
	}
	if len(lostWhy) > 0 {
		what := fmt.Sprintf("offsets %d to %d", end, lostTo-1)
		if lostTo < 0 {
			what = fmt.Sprintf("offsets from %d on (%d record batches)", end, last.idxEntries-len(last.batches))
		}
		part := filepath.Base(pdir)
		if !acceptLost {
			return fmt.Errorf("%w: partition %s lost %s, already given to events (%s): started as it is, the broker would give those offsets to new events, and the lake and live's snapshots would take them for the lost ones. Move the data directory aside to start afresh, or start with --embedded-accept-lost-offsets to keep what is left and let those offsets be given again",
				ErrEmbeddedOffsetsLost, part, what, strings.Join(lostWhy, "; "))
		}
		if err := cutLostTail(last, snapPath); err != nil {
			return err
		}
		counted()
		// Records lost: an error, as brokerLog logs kfake's own truncations.
		log.Error("the embedded broker's data directory lost acknowledged records; accepted (--embedded-accept-lost-offsets): the log is cut to its last whole record batch and those offsets will be given to new events",
			"partition", part, "lost", what, "file", last.path, "cut_bytes", last.size-last.valid, "evidence", strings.Join(lostWhy, "; "), "kind", StorageCorrupt)
	}

	for _, s := range segs {
		if err := rebuildIndexTail(s, log, counted); err != nil {
			return err
		}
	}
	return nil
}

func idxPath(s *segment) string {
	return strings.TrimSuffix(s.path, ".dat") + ".idx"
}

// cutLostTail cuts the last segment and its index to its whole batches and removes
// the partition's snapshot.json, which would otherwise keep saying the log is longer
// and have the next start refuse again.
func cutLostTail(s *segment, snapPath string) error {
	if err := os.Truncate(s.path, int64(s.valid)); err != nil {
		return fmt.Errorf("ingest: cutting the torn tail off %s: %w", s.path, err)
	}
	if s.idxEntries > len(s.batches) {
		if err := os.Truncate(idxPath(s), int64(len(s.batches)*kfakeIndexEntrySize)); err != nil {
			return fmt.Errorf("ingest: cutting %s to its segment's batches: %w", idxPath(s), err)
		}
		s.idxEntries = len(s.batches)
	}
	s.size = s.valid
	if err := os.Remove(snapPath); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("ingest: removing %s after cutting its partition's lost tail: %w", snapPath, err)
	}
	return nil
}

// rebuildIndexTail gives s's .idx an entry for each of its whole batches: a torn last
// entry is cut, and the entries missing are written from the batches themselves.
// kfake trims an index longer than its segment itself.
func rebuildIndexTail(s *segment, log *slog.Logger, counted func()) error {
	path := idxPath(s)
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	} else if !os.IsNotExist(err) {
		return fmt.Errorf("ingest: checking index %s: %w", path, err)
	}
	if s.idxEntries >= len(s.batches) {
		return nil // as long as its segment or longer: kfake cuts it to the batches itself
	}
	whole := int64(s.idxEntries) * kfakeIndexEntrySize
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("ingest: opening index %s to rebuild its torn tail: %w", path, err)
	}
	defer f.Close()
	if err := f.Truncate(whole); err != nil {
		return fmt.Errorf("ingest: cutting the torn tail off index %s: %w", path, err)
	}
	var buf []byte
	for _, b := range s.batches[s.idxEntries:] {
		buf = append(buf, indexEntry(b)...)
	}
	if _, err := f.WriteAt(buf, whole); err != nil {
		return fmt.Errorf("ingest: rebuilding the missing entries of index %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("ingest: rebuilding the missing entries of index %s: %w", path, err)
	}
	counted()
	log.Warn("the embedded broker's segment index was torn: cut to its whole entries and the missing ones rebuilt from the segment's record batches",
		"file", path, "cut_bytes", size-whole, "rebuilt_entries", len(s.batches)-s.idxEntries, "kind", StorageCorrupt)
	return nil
}
