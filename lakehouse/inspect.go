package lakehouse

import "context"

// The functions below serve one-shot tools (`hindsight lake ls/stats/compact`) that
// name a lake by its URL: each opens the bucket, answers with data, and closes it
// again. How the answer is shown is the tool's business.

// Listing is the files of one snapshot that a Filter selected.
type Listing struct {
	Version int64       `json:"version"`
	Files   []FileEntry `json:"files"`
}

// ListLake returns the visible files of the lake at bucketURL (see OpenBucket) that f
// selects, from its newest snapshot, reaching its storage as s says.
func ListLake(ctx context.Context, bucketURL string, f Filter, s StorageConfig) (Listing, error) {
	snap, err := readSnapshot(ctx, bucketURL, s)
	if err != nil {
		return Listing{}, err
	}
	return Listing{Version: snap.Version(), Files: snap.Files(f)}, nil
}

// LakeStats returns the statistics of the newest snapshot of the lake at bucketURL:
// per partition and in total, files, rows, bytes, watermark, earliest offset held and
// the compression ratio against the raw JSON. It reaches the storage as s says.
func LakeStats(ctx context.Context, bucketURL string, s StorageConfig) (Stats, error) {
	snap, err := readSnapshot(ctx, bucketURL, s)
	if err != nil {
		return Stats{}, err
	}
	return snap.Stats(), nil
}

// MaintainLake runs one maintenance pass (see Lake.Maintain) on the lake at bucketURL.
// rep is nil when cfg is refused (cfg.Validate), or the lake could not be opened or its
// manifest read: then nothing was attempted. Otherwise rep counts what was done, even
// when err is not nil (a storage operation that kept failing past
// cfg.StoragePatience ends the pass with its error). It reaches the storage as s says.
func MaintainLake(ctx context.Context, bucketURL string, cfg MaintenanceConfig, s StorageConfig) (rep *MaintenanceReport, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lake, err := OpenLake(ctx, bucketURL, s)
	if err != nil {
		return nil, err
	}
	defer lake.Close()
	// Maintain retries storage errors for up to cfg.StoragePatience; one plain read
	// first makes a wrong URL or an unreachable bucket fail at once instead.
	if _, err := lake.Snapshot(ctx); err != nil {
		return nil, err
	}
	r, err := lake.Maintain(ctx, cfg)
	return &r, err
}

// readSnapshot can close the bucket before returning: a Snapshot is the manifest
// alone, and listing or summing it reads nothing more.
func readSnapshot(ctx context.Context, bucketURL string, s StorageConfig) (*Snapshot, error) {
	lake, err := OpenLake(ctx, bucketURL, s)
	if err != nil {
		return nil, err
	}
	defer lake.Close()
	return lake.Snapshot(ctx)
}
