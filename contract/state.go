package contract

import "time"

// StateView is the answer of /v1/state: the durable state of the partitions a daemon owns.
type StateView struct {
	StateURL         string           `json:"state_url"`
	RestoreFrom      string           `json:"restore_from,omitempty"`
	SnapshotInterval string           `json:"snapshot_interval"`
	Group            string           `json:"group"`
	Topic            string           `json:"topic"`
	Partitions       []PartitionState `json:"partitions"`
}

// PartitionState is one owned partition's state and snapshots.
type PartitionState struct {
	Partition int32 `json:"partition"`
	// NextOffset is the offset of the next event to evaluate (-1: not known yet).
	NextOffset int64 `json:"next_offset"`
	Customers  int   `json:"customers"`
	Counters   int   `json:"counters"`
	// Backfills counts the partition's history jobs still running: hand-offs, and
	// replays of ended versions (no snapshot is stored while one runs).
	Backfills int `json:"backfills_pending"`
	// LastSnapshot is the newest snapshot stored by this process; AgeSeconds is its age
	// and LagOffsets how many offsets the partition has moved since.
	LastSnapshot *SnapshotInfo `json:"last_snapshot,omitempty"`
	AgeSeconds   *float64      `json:"snapshot_age_seconds,omitempty"`
	LagOffsets   *int64        `json:"snapshot_lag_offsets,omitempty"`
	Restored     *SnapshotInfo `json:"restored_from,omitempty"`
	// LastError is why the latest snapshot could not be stored or read: "restore: ..."
	// when no snapshot could be restored, "restore skipped: ..." when newer ones were
	// skipped for an older one (live/API.md).
	LastError string `json:"last_error,omitempty"`
	// Problems says, one sentence each, what is wrong with the partition's durable
	// state: no snapshot could be read at restore (its counts were rebuilt from
	// history), the latest snapshot could not be stored, or changed state has gone
	// without a snapshot for longer than --max-snapshot-age (which also fails /readyz).
	// Absent when there is none.
	Problems []string `json:"problems,omitempty"`
}

// SnapshotInfo describes a stored or restored snapshot.
type SnapshotInfo struct {
	Key       string    `json:"key"`
	Offset    int64     `json:"offset"`
	WrittenAt time.Time `json:"written_at"`
	Bytes     int       `json:"bytes"`
	Counters  int       `json:"counters"`
	Took      string    `json:"took"`
}
