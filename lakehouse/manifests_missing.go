package lakehouse

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// ErrMissingManifests is the error of snapshots and first commits of a lake that holds
// data files but no manifest at all: the manifests were deleted (a lifecycle rule, a
// copy of data/ alone, a mistaken cleanup) while the files stayed. Read as an empty
// lake, it showed no history; committed on, a v1 listing only the new files made orphan
// collection delete every older one. Unlike ErrUnreadableManifests it is not retried:
// nothing but an operator brings manifests back.
var ErrMissingManifests = errors.New("lakehouse: the lake holds data files but no manifest")

// dataNameParts takes a data file's partition and end offset from its name (dataName).
var dataNameParts = regexp.MustCompile(`^data/p=([0-9]{4,})/h=[^/]+/[0-9]{20}-([0-9]{20})-[0-9a-f]+\.parquet$`)

// firstCommitAge bounds, for a reader, the age of a data file a new lake's first commit
// may still be on its way to list: a writer uploads a file again before each attempt
// once it is a quarter of the orphan grace old and gives the attempt up at half of it
// (orphan_guard.go), half of the default grace of an hour. An older file in a lake
// without manifests is history they listed.
const firstCommitAge = 30 * time.Minute

// checkManifestsPresent is called when the lake has no manifest at all. For a reader
// (next nil) a data file of the lake's naming older than firstCommitAge is history the
// manifests listed: ErrMissingManifests (younger ones are a first commit's, or
// indistinguishable from them: the lake reads as empty, as it did). For a first commit (next, the manifest it would write) it is a
// file of a partition next archives that ends below next's first file of it: a writer
// of a lake without manifests starts each partition at Kafka's log start, so such a
// file holds records Kafka no longer has, which next would leave unlisted and orphan
// collection delete. Files at or above that start are not: other writers' first
// uploads in a new lake, or debris of a first run that never committed, whose records
// this commit archives again (their collection loses nothing).
func (s *manifestStore) checkManifestsPresent(ctx context.Context, next *Manifest) error {
	var starts map[int32]int64 // per partition, next's first offset
	if next != nil {
		starts = map[int32]int64{}
		for _, f := range next.Files {
			if st, ok := starts[f.Partition]; !ok || f.StartOffset < st {
				starts[f.Partition] = f.StartOffset
			}
		}
	}
	old := time.Now().Add(-firstCommitAge)
	var stranded []string
	err := s.bkt.List(ctx, dataPrefix, func(a ObjectAttributes) error {
		if !dataNamePattern.MatchString(a.Name) {
			return nil
		}
		if next == nil && a.ModTime.Before(old) || next != nil && below(a.Name, starts) {
			stranded = append(stranded, a.Name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list data files of a lake without manifests: %w", err)
	}
	if len(stranded) == 0 {
		return nil
	}
	return fmt.Errorf("%w: manifest/ holds no manifest, yet data/ holds %d data files (%s among them) that a new manifest "+
		"would leave unlisted, then collected: restore the manifests (manifest/v*.json), or, if the history is to be dropped, "+
		"stop the lake's archivers and delete its data files to start it anew", ErrMissingManifests, len(stranded), stranded[0])
}

// below reports whether the data file name ends below the start its partition has in
// starts.
func below(name string, starts map[int32]int64) bool {
	m := dataNameParts.FindStringSubmatch(name)
	if m == nil {
		return false
	}
	p, err := strconv.ParseInt(m[1], 10, 32)
	if err != nil {
		return false
	}
	end, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return false
	}
	st, ok := starts[int32(p)]
	return ok && end < st
}
