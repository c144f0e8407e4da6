package lakehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"sync/atomic"
	"time"
)

// ManifestFormat is the format number written in every manifest.
const ManifestFormat = 1

const (
	manifestPrefix = "manifest/"
	dataPrefix     = "data/"
)

var manifestName = regexp.MustCompile(`^manifest/v([0-9]{12,19})\.json$`)

func manifestKey(version int64) string { return fmt.Sprintf("%sv%012d.json", manifestPrefix, version) }

// manifestVersion is the version the object name is the manifest of, and false for a
// foreign object among the manifests. Only manifestKey's own name of its number is a
// manifest: reads go to that key, so another spelling of the number (more leading
// zeros) was listed as a version whose reads found nothing, taken for a manifest pruned
// meanwhile, and every read and commit failed for good (errManifestsVanish).
func manifestVersion(name string) (int64, bool) {
	m := manifestName.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || v > maxManifestVersion || manifestKey(v) != name {
		return 0, false
	}
	return v, true
}

// maxManifestVersion is the highest version a manifest may have; a name above it is
// foreign. Commits count up by one from the highest version present, so no lake
// reaches it (a commit a microsecond for 285,000 years); only junk is named so high, and
// junk at the top of int64 (v9223372036854775807) made the next commit's version
// overflow, its put retried for ever and nothing archived visible. Ignoring such a name
// keeps the lake going; the margin below int64's top keeps a commit's next version from
// overflowing, and a commit that would pass the bound fails (ErrManifestVersionsExhausted).
const maxManifestVersion = 9_000_000_000_000_000_000

// ErrManifestVersionsExhausted is a commit's error when the lake holds a manifest at
// maxManifestVersion: the next version would be foreign. Only an object put there by
// hand gets there; nothing retries it (the archiver stops, a maintenance pass fails).
var ErrManifestVersionsExhausted = errors.New("lakehouse: no manifest version left to commit")

// Manifest is one committed state of the lake. Its highest readable version in the
// bucket is the truth: a data file not listed here does not exist for readers.
type Manifest struct {
	Format int `json:"format"`
	// Version is the number in the object's name; it grows by at least one per commit.
	Version int64 `json:"version"`
	// Topic is the Kafka topic archived.
	Topic string `json:"topic,omitempty"`
	// TopicID is Kafka's id of the topic's log archived (base64, as Kafka's tools show
	// it; empty when the first writer could not learn it): a topic deleted and made
	// again has the same name, another id, and offsets that start anew.
	TopicID string `json:"topic_id,omitempty"`
	// Committed is when this version was written, and Writer who wrote it.
	Committed time.Time `json:"committed"`
	Writer    string    `json:"writer,omitempty"`
	// Partitions hold the archive state of every partition ever archived, by partition.
	Partitions []PartitionState `json:"partitions"`
	// Files are the visible files, by partition then offset.
	Files []FileEntry `json:"files"`
	// PendingDeletes are objects that compaction or retention removed from Files; they
	// are deleted from the bucket once DeleteDelay has passed, so that a reader holding
	// an older snapshot can still fetch them.
	PendingDeletes []PendingDelete `json:"pending_deletes,omitempty"`
}

// PartitionState is what the lake holds of one partition.
type PartitionState struct {
	Partition int32 `json:"partition"`
	// Watermark is the highest offset archived: every record of the partition at an
	// offset <= Watermark that Kafka had when it was archived is in the lake (unless
	// retention dropped it, see Earliest). The next file starts at Watermark+1; a
	// resuming archiver reads from Through()+1.
	Watermark int64 `json:"watermark"`
	// EmptyAfter counts the offsets right after Watermark that an archiver read and
	// found to hold no event — transaction markers, an aborted transaction's records,
	// records the live stage dead-letters — with no file open to cover them: the
	// partition's next file starts at Watermark+1 and covers them, but until one comes
	// (a quiet partition) only this says the lake accounts for them. Without it, once
	// Kafka's log start passed them they read as history deleted before it was
	// archived. A partition whose first offsets held no event has a state with no file
	// and Earliest past them.
	EmptyAfter int64 `json:"empty_after,omitempty"`
	// Earliest is the first offset still held: files covering offsets below it were
	// dropped by retention. Equal to Watermark+1 when no file is left.
	Earliest int64 `json:"earliest"`
	// EarliestTime is the smallest event time still held (zero when no file is left).
	EarliestTime time.Time `json:"earliest_time,omitzero"`
	// DroppedTime is the newest event time of the files retention dropped (zero: none
	// dropped, or by a version that did not record it).
	DroppedTime time.Time `json:"dropped_time,omitzero"`
}

// Through is the highest offset the lake accounts for: every offset up to it is in a
// file, was dropped by retention (below Earliest), or held no event (EmptyAfter). Readers
// take what lies above it from Kafka.
func (s PartitionState) Through() int64 { return s.Watermark + max(s.EmptyAfter, 0) }

// DroppedReaches tells whether the offsets below Earliest (dropped by retention, or
// never archived) may have held events recorded at or after from (zero from: any
// time): whether history asked for from then on lacks them. Their newest time is
// DroppedTime, or, with none on record, taken to be no later than the first event held
// (Kafka's timestamps follow offsets, as producers stamp them); unknown, they may.
func (s PartitionState) DroppedReaches(from time.Time) bool {
	bound := s.DroppedTime
	if bound.IsZero() {
		bound = s.EarliestTime
	}
	return from.IsZero() || bound.IsZero() || !bound.Before(from)
}

// FileEntry describes one visible data file.
type FileEntry struct {
	// Path is the object name in the bucket.
	Path      string `json:"path"`
	Partition int32  `json:"partition"`
	// StartOffset..EndOffset (inclusive) is the offset range the file covers: every
	// record of the partition in that range is in this file, but for the Deleted ones.
	// Ranges of one partition never overlap and leave no gap.
	StartOffset int64 `json:"start_offset"`
	EndOffset   int64 `json:"end_offset"`
	// MinOffset and MaxOffset are those of the rows present (Kafka offsets can have gaps).
	MinOffset int64 `json:"min_offset"`
	MaxOffset int64 `json:"max_offset"`
	Rows      int64 `json:"rows"`
	// Bytes is the object's size; RawBytes the total size of its JSON payloads.
	Bytes    int64 `json:"bytes"`
	RawBytes int64 `json:"raw_bytes"`
	// MinTime and MaxTime bound the event times of the rows.
	MinTime time.Time `json:"min_time"`
	MaxTime time.Time `json:"max_time"`
	// MaxIngestTime is the newest ingest time of the rows: when the archiver read the
	// last of them (zero: a file of an older version, unknown). Retention judges a file
	// by its MaxTime, but no later than an hour past this (retentionTime).
	MaxIngestTime time.Time `json:"max_ingest_time,omitzero"`
	// MinCustomer and MaxCustomer bound the customer ids of the rows (rows are sorted by
	// customer, then offset).
	MinCustomer string    `json:"min_customer"`
	MaxCustomer string    `json:"max_customer"`
	RowGroups   int       `json:"row_groups"`
	Created     time.Time `json:"created"`
	// Checked is true when every row passed the event acceptance check (the live
	// stage's, internal/verdict) before it was written, as the archiver's files do
	// since it applies that check: readers may then skip validating the payloads.
	// Files of older archivers lack it and hold every record, those live
	// dead-lettered included (with invalid UTF-8 replaced by U+FFFD).
	Checked bool `json:"checked,omitempty"`
	// Deleted are the offsets in the file's range that Kafka deleted (the topic's
	// retention) before the archiver read them, in order: records the lake never held,
	// which backfills and backtests over the range report as missing. None in a
	// complete file.
	Deleted []OffsetRange `json:"deleted,omitempty"`
	// Columns are the typed columns the file carries, next to the payload (see
	// TypedColumn); files written before a path was typed, or by older archivers, lack
	// it and readers take its value from the payload.
	Columns []TypedColumn `json:"columns,omitempty"`
	// CustomerFilter, when set, says which customers the file may hold (see
	// CustomerFilter): files of older archivers, and files of more than
	// MaxFilteredCustomers customers, have none.
	CustomerFilter *CustomerFilter `json:"customer_filter,omitempty"`
}

// OffsetRange is the offsets From to To of a partition, both included.
type OffsetRange struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// MinTime and MaxTime, on a Deleted range carried into a merged file, are the
	// event times of the file that first noted it: the times readers judge a range's
	// place in time by (its records' own are unknown), kept so that a merge, which
	// widens the file's times, changes no reader's answer. Zero: the file's own.
	MinTime time.Time `json:"min_time,omitzero"`
	MaxTime time.Time `json:"max_time,omitzero"`
}

// DeletedTimes are the event times readers place the Deleted range d of f at.
func (f *FileEntry) DeletedTimes(d OffsetRange) (minTime, maxTime time.Time) {
	if d.MaxTime.IsZero() {
		return f.MinTime, f.MaxTime
	}
	return d.MinTime, d.MaxTime
}

// DeletedReason is why history readers (backfill, backtest) report a file's Deleted
// ranges missing.
const DeletedReason = "deleted by Kafka (the topic's retention) before it was archived: the lake file covering these offsets lacks them"

// DeletedRecords is how many of the file's offsets Kafka deleted before they were
// archived (Deleted).
func (f *FileEntry) DeletedRecords() int64 {
	var n int64
	for _, r := range f.Deleted {
		n += r.To - r.From + 1
	}
	return n
}

// PendingDelete is an object scheduled for deletion.
type PendingDelete struct {
	Path string `json:"path"`
	// RemovedAt is when the manifest version that stopped listing it was committed, by
	// the committing writer's clock.
	RemovedAt time.Time `json:"removed_at"`
	// RemovedIn is that version (0 in manifests written before it was recorded): the
	// store's time of its object bounds the delay too, whatever the writer's clock said.
	RemovedIn int64 `json:"removed_in,omitempty"`
}

// removedHere marks a pending delete added by the commit under way: commit sets its
// RemovedIn to the version it writes.
const removedHere = -1

// removeLater schedules path for deletion once DeleteDelay has passed from now, the
// time of the commit attempt that drops it (a commit retried for longer than the delay
// must not find its files due at once).
func (m *Manifest) removeLater(path string, now time.Time) {
	m.PendingDeletes = append(m.PendingDeletes, PendingDelete{Path: path, RemovedAt: now.UTC(), RemovedIn: removedHere})
}

func (m *Manifest) clone() *Manifest {
	c := *m
	c.Partitions = slices.Clone(m.Partitions)
	c.Files = slices.Clone(m.Files)
	c.PendingDeletes = slices.Clone(m.PendingDeletes)
	return &c
}

// Partition returns the state of partition p.
func (m *Manifest) Partition(p int32) (PartitionState, bool) {
	i, ok := slices.BinarySearchFunc(m.Partitions, p, func(s PartitionState, p int32) int { return int(s.Partition) - int(p) })
	if !ok {
		return PartitionState{}, false
	}
	return m.Partitions[i], true
}

func (m *Manifest) setPartition(s PartitionState) {
	i, ok := slices.BinarySearchFunc(m.Partitions, s.Partition, func(s PartitionState, p int32) int { return int(s.Partition) - int(p) })
	if ok {
		m.Partitions[i] = s
		return
	}
	m.Partitions = slices.Insert(m.Partitions, i, s)
}

// Watermark is the highest archived offset of partition p, -1 if none.
func (m *Manifest) Watermark(p int32) int64 {
	if s, ok := m.Partition(p); ok {
		return s.Watermark
	}
	return -1
}

// Through is partition p's PartitionState.Through, -1 if none was ever archived.
func (m *Manifest) Through(p int32) int64 {
	if s, ok := m.Partition(p); ok {
		return s.Through()
	}
	return -1
}

func (m *Manifest) hasFile(path string) bool {
	for i := range m.Files {
		if m.Files[i].Path == path {
			return true
		}
	}
	return false
}

// lists reports whether the manifest names the object: in Files, or in PendingDeletes
// (taken out of Files by compaction or retention, to be deleted after DeleteDelay).
func (m *Manifest) lists(path string) bool {
	if m.hasFile(path) {
		return true
	}
	for _, d := range m.PendingDeletes {
		if d.Path == path {
			return true
		}
	}
	return false
}

func (m *Manifest) sortFiles() {
	sort.Slice(m.Files, func(i, j int) bool {
		a, b := m.Files[i], m.Files[j]
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		return a.StartOffset < b.StartOffset
	})
}

// refreshEarliest recomputes the Earliest fields from the files held.
func (m *Manifest) refreshEarliest() {
	for i := range m.Partitions {
		s := &m.Partitions[i]
		s.Earliest, s.EarliestTime = s.Watermark+1, time.Time{}
		for _, f := range m.Files {
			if f.Partition != s.Partition {
				continue
			}
			s.Earliest = min(s.Earliest, f.StartOffset)
			if s.EarliestTime.IsZero() || f.MinTime.Before(s.EarliestTime) {
				s.EarliestTime = f.MinTime
			}
		}
	}
}

// validate checks the invariants a reader relies on.
func (m *Manifest) validate() error {
	if m.Format != ManifestFormat {
		return fmt.Errorf("format %d, want %d", m.Format, ManifestFormat)
	}
	last := map[int32]int64{}
	for _, f := range m.Files {
		if !ValidName(f.Path) || f.StartOffset > f.EndOffset || f.Rows <= 0 {
			return fmt.Errorf("bad file entry %+v", f)
		}
		if e, ok := last[f.Partition]; ok && f.StartOffset != e+1 {
			return fmt.Errorf("partition %d: file %s starts at %d, previous ends at %d", f.Partition, f.Path, f.StartOffset, e)
		}
		last[f.Partition] = f.EndOffset
		from := f.StartOffset
		for _, d := range f.Deleted {
			if d.From < from || d.To < d.From || d.To > f.EndOffset {
				return fmt.Errorf("partition %d: file %s [%d, %d] lacks offsets %d–%d: out of its range or order", f.Partition, f.Path, f.StartOffset, f.EndOffset, d.From, d.To)
			}
			from = d.To + 1
		}
		if s, ok := m.Partition(f.Partition); !ok || f.EndOffset > s.Watermark {
			return fmt.Errorf("partition %d: file %s ends past the watermark", f.Partition, f.Path)
		}
	}
	return nil
}

// manifestStore reads and commits manifest versions in a bucket.
type manifestStore struct {
	bkt    Bucket
	log    *slog.Logger
	writer string
	topic  string
	// topicID is the id of topic's log a writer archives (nil or "": unknown, or no
	// writer), learned before its first commit or, the topic made after the writer
	// started, on an assignment (logID, setLogID).
	topicID atomic.Pointer[string]
	// onConflict, if set, counts lost commit races.
	onConflict func()
	// onCorrupt, if set, counts unreadable manifests.
	onCorrupt func()
	// opened is when this store was made: data files older than that were written by
	// others, before (see checkNotStranded).
	opened time.Time
	// sawManifest: latest has returned a committed manifest.
	sawManifest atomic.Bool
}

func newManifestStore(bkt Bucket, log *slog.Logger, topic string) *manifestStore {
	return &manifestStore{bkt: bkt, log: log, writer: newWriterID(), topic: topic, opened: time.Now()}
}

// logID is the id of the topic's log the writer archives ("": unknown).
func (s *manifestStore) logID() string {
	if id := s.topicID.Load(); id != nil {
		return *id
	}
	return ""
}

func (s *manifestStore) setLogID(id string) { s.topicID.Store(&id) }

// versions lists the manifest versions present, highest first.
func (s *manifestStore) versions(ctx context.Context) ([]int64, error) {
	var vs []int64
	err := s.bkt.List(ctx, manifestPrefix, func(a ObjectAttributes) error {
		v, ok := manifestVersion(a.Name)
		if !ok {
			s.log.Warn("ignoring foreign object among manifests (a manifest is named manifest/v<version, 12 digits or more, no extra leading zeros>.json)", "object", a.Name)
			return nil
		}
		vs = append(vs, v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list manifests: %w", err)
	}
	slices.Sort(vs)
	slices.Reverse(vs)
	return vs, nil
}

// latest loads the highest readable manifest, skipping (and reporting) corrupt ones
// but failing at one of a newer format (ErrNewerFormat), and returns the highest
// version number present, readable or not. An empty lake gives an empty manifest of
// version 0. A manifest pruned between listing and reading makes it list again, up to
// six times; then it fails with errManifestsVanish.
func (s *manifestStore) latest(ctx context.Context) (*Manifest, int64, error) {
	for attempt := 0; ; attempt++ {
		vs, err := s.versions(ctx)
		if err != nil {
			return nil, 0, err
		}
		top := int64(0)
		if len(vs) > 0 {
			top = vs[0]
		}
		vanished := false
		for _, v := range vs {
			m, err := s.read(ctx, v)
			if err == nil {
				s.sawManifest.Store(true)
				return m, top, nil
			}
			if isNotFound(err) {
				// Pruned between List and Get: list again.
				vanished = true
				break
			}
			if errors.Is(err, ErrCorrupt) {
				if s.onCorrupt != nil {
					s.onCorrupt()
				}
				s.log.Error("skipping unreadable manifest", "object", manifestKey(v), "err", err)
				continue
			}
			return nil, 0, err
		}
		if !vanished {
			return &Manifest{Format: ManifestFormat, Topic: s.topic}, top, nil
		}
		if attempt >= 5 {
			// Never an empty manifest here: a writer would commit one that lists none
			// of the lake's files, and collection would then delete them.
			return nil, 0, errManifestsVanish
		}
	}
}

// ErrUnreadableManifests is the error of commits and snapshots while none of the lake's
// manifests can be read yet it holds history they listed, and of commits while the
// newest ones cannot be read and the lake holds files the newest readable one does not
// list. A commit then would start a manifest listing none of those files, and garbage
// collection would delete them; a snapshot would report no history. Writers retry it:
// they resume once the newest manifest reads again.
var ErrUnreadableManifests = errors.New("lakehouse: the newest manifests are unreadable, yet the lake holds data files they may list")

// clockSlack allows for the object store's clock running behind this host's when
// telling data files written before this store was opened from those written since.
const clockSlack = 2 * time.Second

// checkNotStranded is called when the lake has manifests up to version top and the
// highest that reads is read (0: none). It fails with ErrUnreadableManifests if the
// lake holds data files the unreadable ones may have listed: files the store wrote no
// later than the newest of them (a manifest lists only files uploaded before it, so
// files younger than junk are no history it held: other writers' uploads in flight,
// which must not hold this commit, nor this one theirs). Of those, for a reader
// (committing nil) that is any data file. For a commit it is any but those the new
// manifest names (committing: its files and pending deletes) if this store read a
// committed manifest before, else those written before this store was opened: younger
// ones are other writers' first files in a new lake whose only manifests are junk, and
// each writer's first commit must go ahead.
func (s *manifestStore) checkNotStranded(ctx context.Context, read, top int64, committing map[string]bool) error {
	var written time.Time // the newest unreadable manifest's
	err := s.bkt.List(ctx, manifestPrefix, func(a ObjectAttributes) error {
		if v, ok := manifestVersion(a.Name); ok && v > read && a.ModTime.After(written) {
			written = a.ModTime
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list manifests: %w", err)
	}
	before := s.opened.Add(-clockSlack)
	history := func(a ObjectAttributes) bool {
		if a.ModTime.After(written) {
			return false
		}
		return committing == nil || !committing[a.Name] && (s.sawManifest.Load() || a.ModTime.Before(before))
	}
	var stranded []string
	err = s.bkt.List(ctx, dataPrefix, func(a ObjectAttributes) error {
		if dataNamePattern.MatchString(a.Name) && history(a) {
			stranded = append(stranded, a.Name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list data files under unreadable manifests: %w", err)
	}
	if len(stranded) == 0 {
		return nil
	}
	if read > 0 {
		return fmt.Errorf("%w: manifests above v%d up to v%d are unreadable, and %d data files (%s among them) "+
			"that v%d does not list would be left unlisted by a manifest built on it, then collected: restore them, "+
			"or remove them if they are no commits of this lake",
			ErrUnreadableManifests, read, top, len(stranded), stranded[0], read)
	}
	return fmt.Errorf("%w: manifest v%d and every one below it are unreadable, and %d data files (%s among them) "+
		"would be left unlisted by a new manifest, then collected: restore a manifest, or remove the unreadable ones to start the lake anew",
		ErrUnreadableManifests, top, len(stranded), stranded[0])
}

// ErrManifestTooLarge is a commit's error when the manifest it would write is larger
// than what is read back (maxManifestBytes).
var ErrManifestTooLarge = errors.New("lakehouse: manifest too large")

// maxManifestBytes bounds the manifest read back, which is held whole in memory. A
// variable for tests.
var maxManifestBytes = 1 << 30

// errManifestsVanish is latest's error when the manifests it listed were gone when it
// read them, listing after listing. Callers retry it (it is not ErrNotFound, which
// retrying cannot change).
var errManifestsVanish = errors.New("lakehouse: the manifests listed had vanished when read, six listings in a row")

// ErrNewerFormat is the error of reading a manifest of a format above ManifestFormat,
// and so of the snapshots and commits of a lake that holds one above every manifest
// that reads: a newer hindsight's commit, not junk. Skipped as unreadable, it let
// readers show an older lake and commits build on an older version, losing what the
// newer writer committed (and the advice for a lake of unreadable manifests, to remove
// them, would destroy it). Nothing retries it: an upgrade cures it.
var ErrNewerFormat = errors.New("lakehouse: manifest written by a newer hindsight")

func (s *manifestStore) read(ctx context.Context, v int64) (*Manifest, error) {
	key := manifestKey(v)
	rc, err := s.bkt.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, int64(maxManifestBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if len(data) > maxManifestBytes {
		// Cut off, it would not decode and would read as damaged: say what it is.
		return nil, fmt.Errorf("%w: %s is over %d bytes, the most a manifest is read to: it lists too many files for this build to read (this build never writes one so large)", ErrCorrupt, key, maxManifestBytes)
	}
	// The format first: a newer format need not decode as this one.
	var head struct {
		Format int `json:"format"`
	}
	if json.Unmarshal(data, &head) == nil && head.Format > ManifestFormat {
		return nil, fmt.Errorf("%w: %s (format %d, this build reads %d): upgrade hindsight to read or change this lake", ErrNewerFormat, key, head.Format, ManifestFormat)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, key, err)
	}
	if m.Version != v {
		return nil, fmt.Errorf("%w: %s holds version %d", ErrCorrupt, key, m.Version)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, key, err)
	}
	return &m, nil
}

// ErrTopicMismatch is the error for a lake that archives another topic than the one
// an archiver, backfill or backtest is given: the
// manifest's watermarks are that topic's offsets, and its records would be mixed in
// (or skipped as archived already).
var ErrTopicMismatch = errors.New("lakehouse: the lake archives another topic")

// checkTopic is nil when m is a lake of topic (or of none yet, or topic is "": a
// reader's or maintenance's store, which archives nothing) and of the log with id
// topicID (or either id is unknown).
func checkTopic(m *Manifest, topic, topicID string) error {
	if topic != "" && m.Topic != "" && m.Topic != topic {
		return fmt.Errorf("%w: its manifest v%d archives topic %q, this archiver reads %q: give each topic a lake of its own", ErrTopicMismatch, m.Version, m.Topic, topic)
	}
	if topicID != "" && m.TopicID != "" && m.TopicID != topicID {
		return fmt.Errorf("%w: its manifest v%d archives the log of topic %q with id %s, and %q now has id %s: "+
			"the topic was deleted and made again, its offsets started anew, and the lake's watermarks are the old log's: "+
			"give the new log a lake of its own (the old one keeps the old log's history)", ErrTopicMismatch, m.Version, m.Topic, m.TopicID, topic, topicID)
	}
	return nil
}

// CheckTopic is a reader's check that m is a lake of topic (or of none yet): its
// offsets are that topic's, and read as another's they would count one topic's history
// as the other's. Errors match ErrTopicMismatch.
func (m *Manifest) CheckTopic(topic string) error {
	if m.Topic != "" && m.Topic != topic {
		return fmt.Errorf("%w: its manifest v%d archives topic %q, not %q: give the lake of that topic (--lake) or its name (--topic)", ErrTopicMismatch, m.Version, m.Topic, topic)
	}
	return nil
}

// errEncodeManifest: the manifest a commit built cannot be written as JSON (a time
// outside the years RFC 3339 writes). It is the commit's own content, not an outage:
// retried, it fails the same way for ever, so it is permanent (the archiver stops with
// it; a maintenance pass fails with it).
var errEncodeManifest = errors.New("lakehouse: encode manifest (a bug: it is not retried)")

// errNoChange from a mutation means: nothing to commit, keep the current manifest.
var errNoChange = errors.New("lakehouse: no change")

// commit applies mutate to the newest manifest and claims the next version with
// PutIfAbsent. If another writer claimed it first, commit reloads and applies mutate
// again, so mutate must work from whatever manifest it is given and must recognise its
// own change already applied (a lost reply to a successful put) by returning
// errNoChange. The new version is always one above the highest present: versions in
// between are unreadable ones latest skipped, and the commit goes ahead only if the lake
// holds no file they could have listed that it does not (checkNotStranded).
func (s *manifestStore) commit(ctx context.Context, mutate func(*Manifest) error) (*Manifest, error) {
	for {
		cur, top, err := s.latest(ctx)
		if err != nil {
			return nil, err
		}
		if top >= maxManifestVersion {
			return nil, fmt.Errorf("%w: %s is at the highest version a manifest may have (%d): remove it if it is junk, it was no commit of this build",
				ErrManifestVersionsExhausted, manifestKey(top), int64(maxManifestVersion))
		}
		if err := checkTopic(cur, s.topic, s.logID()); err != nil {
			return nil, err
		}
		next := cur.clone()
		if err := mutate(next); err != nil {
			if errors.Is(err, errNoChange) {
				return cur, nil
			}
			return nil, err
		}
		if cur.Version < top || top == 0 {
			// Unreadable versions above the one read, or no manifest at all: if they
			// were commits, their files are listed nowhere else, and this commit would
			// drop them.
			committing := map[string]bool{}
			for _, f := range next.Files {
				committing[f.Path] = true
			}
			for _, d := range next.PendingDeletes {
				committing[d.Path] = true
			}
			var err error
			if top == 0 {
				err = s.checkManifestsPresent(ctx, next)
			} else {
				err = s.checkNotStranded(ctx, cur.Version, top, committing)
			}
			if err != nil {
				return nil, err
			}
		}
		next.Format = ManifestFormat
		next.Version = max(cur.Version, top) + 1
		for i := range next.PendingDeletes {
			if next.PendingDeletes[i].RemovedIn == removedHere {
				next.PendingDeletes[i].RemovedIn = next.Version
			}
		}
		next.Committed = time.Now().UTC()
		next.Writer = s.writer
		if next.Topic == "" {
			next.Topic = s.topic
		}
		if next.TopicID == "" {
			next.TopicID = s.logID()
		}
		next.sortFiles()
		if err := next.validate(); err != nil {
			return nil, fmt.Errorf("commit would break the manifest: %w", err)
		}
		data, err := json.Marshal(next)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errEncodeManifest, err)
		}
		if len(data) > maxManifestBytes {
			// Written, it could not be read back, and the lake would stop. Refused, the
			// commit is retried; compaction, which shrinks the manifest, still commits.
			return nil, fmt.Errorf("%w: manifest v%d would be %d bytes, over the %d one is read back: the lake lists %d files; compact them (hindsight lake compact)",
				ErrManifestTooLarge, next.Version, len(data), maxManifestBytes, len(next.Files))
		}
		err = s.bkt.PutIfAbsent(ctx, manifestKey(next.Version), bytes.NewReader(data))
		if err == nil {
			if s.landedBelow(ctx, cur, next) {
				// The name was free because prune had deleted it, newer versions
				// standing: readers take the newest, which never lists this commit.
				// Taken back, it is made again on the newest.
				if err := s.bkt.Delete(ctx, manifestKey(next.Version)); err != nil && !isNotFound(err) {
					return nil, fmt.Errorf("taking back manifest v%d, written below newer ones: %w", next.Version, err)
				}
				if s.onConflict != nil {
					s.onConflict()
				}
				s.log.Warn("a manifest version written below newer ones (its name pruned meanwhile): taken back, rebasing", "version", next.Version)
				continue
			}
			return next, nil
		}
		if !errors.Is(err, ErrExists) {
			return nil, fmt.Errorf("commit manifest v%d: %w", next.Version, err)
		}
		if s.onConflict != nil {
			s.onConflict()
		}
		s.log.Debug("manifest version taken, rebasing", "version", next.Version)
	}
}

// landedBelow reports whether version v, just written over cur, went in below newer
// versions that never saw it: a name prune freed, taken by a commit slow between
// reading the newest manifest and writing the next. Readers take the newest, so what
// v changed must be there. What v added: each file v lists and cur did not, its
// offsets covered in the newest manifest's partition — a newer version built on v
// lists them (or a file compaction merged them into); one that never saw v lacks
// them. What v took away (compaction's inputs, retention's expired files): no file cur
// listed and v did not is in the newest — file names are never listed again once
// taken away, so one still listed is one the newest never saw taken away. (A merged
// file's offsets are always covered: the second test is what tells a compaction that
// landed below.) What v accounts for without a file (EmptyAfter, a commit with no
// file at all): the newest accounts for as much. Only offsets and names are asked, not write times, which a store may
// take from the start of a slow write. If the newest manifest cannot be read, v is
// taken to stand (as before the check): taking back a commit that stands would lose it.
func (s *manifestStore) landedBelow(ctx context.Context, cur, v *Manifest) bool {
	vs, err := s.versions(ctx)
	if err != nil || len(vs) == 0 || vs[0] <= v.Version {
		return false
	}
	newest, _, err := s.latest(ctx)
	if err != nil {
		s.log.Warn("cannot read the newest manifest after a commit; taking it to stand", "version", v.Version, "err", err)
		return false
	}
	inCur := make(map[string]bool, len(cur.Files))
	for _, f := range cur.Files {
		inCur[f.Path] = true
	}
	inV := make(map[string]bool, len(v.Files))
	for _, f := range v.Files {
		inV[f.Path] = true
		if inCur[f.Path] {
			continue
		}
		if st, ok := newest.Partition(f.Partition); !ok || st.Watermark < f.EndOffset {
			return true
		}
	}
	for _, f := range newest.Files {
		if inCur[f.Path] && !inV[f.Path] {
			return true
		}
	}
	// What v accounts for without a file (EmptyAfter): the newest accounts for as much.
	for _, ps := range v.Partitions {
		if c, ok := cur.Partition(ps.Partition); ok && ps.Through() <= c.Through() {
			continue
		}
		if n, ok := newest.Partition(ps.Partition); !ok || n.Through() < ps.Through() {
			return true
		}
	}
	return false
}

// prune deletes the manifest versions below the newest keep, counted from the newest
// readable one down; versions above that one stay, and none goes while none reads.
func (s *manifestStore) prune(ctx context.Context, keep int) (int, error) {
	vs, err := s.versions(ctx)
	if err != nil {
		return 0, err
	}
	// keep counts from the newest readable version: unreadable ones above it may be
	// commits an operator can restore, and counting them would prune every version
	// that reads.
	newest := -1
	for i := 0; i+keep < len(vs) && newest < 0; i++ {
		switch _, err := s.read(ctx, vs[i]); {
		case err == nil:
			newest = i
		case isNotFound(err) || errors.Is(err, ErrCorrupt):
		default:
			return 0, fmt.Errorf("prune manifests: %w", err)
		}
	}
	if newest < 0 {
		return 0, nil
	}
	n := 0
	for _, v := range vs[newest+keep:] {
		if err := s.bkt.Delete(ctx, manifestKey(v)); err != nil && !isNotFound(err) {
			return n, fmt.Errorf("prune manifest v%d: %w", v, err)
		}
		n++
	}
	return n, nil
}

// HasFile reports whether the manifest lists the object.
func (m *Manifest) HasFile(path string) bool { return m.hasFile(path) }
