package contract

// Readiness is the answer of /readyz: whether the process is doing its job, and if
// not, why.
type Readiness struct {
	// Ready is true when Reasons is empty; Status says ProcessReady or ProcessNotReady.
	Ready  bool   `json:"ready"`
	Status string `json:"status"`
	// Reasons lists, one sentence each, why the process is not ready.
	Reasons []string `json:"reasons"`
	// Partitions are the events partitions owned here.
	Partitions []int32 `json:"partitions"`
	// Broker is "reachable", or why the brokers were not ("" before consuming).
	Broker string `json:"broker"`
	// ArchiveLagRecords is the largest lag of the embedded archiver over its partitions
	// (absent with --no-archive, or before the archiver measured one).
	ArchiveLagRecords *int64 `json:"archive_lag_records,omitempty"`
}
