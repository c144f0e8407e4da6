package lakehouse

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestOversizedManifestSaysSo: a manifest past what is read back (1 GiB; 20 bytes
// here) was cut off and read as damaged JSON ("unexpected EOF"); it reads as what it
// is, still refused as unreadable so that no commit builds on an older version; and a
// commit refuses to write one, so that the lake stays readable and compaction, which
// shrinks it, can still commit.
func TestOversizedManifestSaysSo(t *testing.T) { // not parallel: it sets maxManifestBytes
	defer func(n int) { maxManifestBytes = n }(maxManifestBytes)
	ctx := context.Background()
	s := newManifestStore(NewMemBucket(), slog.New(slog.DiscardHandler), "events")
	m, err := s.commit(ctx, func(*Manifest) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	maxManifestBytes = 20
	_, err = s.read(ctx, m.Version)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "is over 20 bytes, the most a manifest is read to: it lists too many files for this build to read") {
		t.Errorf("reading a manifest over the bound: %v", err)
	}
	// Nor does a commit write one: the lake stays readable, at its last version.
	_, err = s.commit(ctx, func(*Manifest) error { return nil })
	if !errors.Is(err, ErrManifestTooLarge) || !strings.Contains(err.Error(), "over the 20 one is read back: the lake lists 0 files; compact them (hindsight lake compact)") {
		t.Errorf("committing a manifest over the bound: %v", err)
	}
}
