package backfill

import (
	"fmt"
	"time"

	"github.com/hindsightdev/hindsight/rule"
)

// Job is one backfill: a rule's counts per customer over the events of the given
// partitions at offsets below Start, within the rule's lookback of AsOf.
type Job struct {
	Rule *rule.Rule
	// Start is, per partition, the first offset the live stage counts itself: the job
	// counts offsets below it. Partitions not listed are not read.
	Start map[int32]int64
	// StartRead says that Kafka's log was read up to Start (live's hand-off: its start
	// is where its partition evaluated, or resumed after a reader that committed it):
	// every offset below exists, or existed until retention deleted it. Kafka listing
	// the log as ending below Start is then Kafka behind its readers (a broker just
	// restarted, a leader newly elected), and the job fails with ErrTailUnavailable,
	// for the caller to retry, instead of taking those offsets for not written yet and
	// completing without them. Without it (a by-hand job's offsets) a start past the
	// log's end counts what the log holds.
	StartRead bool
	// AsOf is when the rule became active; the lookback counts back from it. Recording
	// it (rather than using the clock) makes a re-run job count the same events.
	AsOf time.Time
	// Customer, when set, counts only that customer (a customer's own rule, or a
	// by-hand job for one customer).
	Customer string
	// Keep, when set, is asked about a customer new to the counts once they are full
	// (Config.MaxCustomers, MaxCustomerIDBytes): true counts it all the same. Live
	// answers whether the partition already holds a counter for the customer and the
	// rule's version, whose history the bound must not take away (a review found the
	// job refusing, by the order of ids, customers live had counted since the version
	// began). A customer live first counts after the job passed its history still
	// loses that history: the rule is degraded either way.
	Keep func(customer string) bool
}

// Progress is reported while a job runs.
type Progress struct {
	FilesDone, FilesTotal int
	RowsScanned           int64
	TailRecords           int64
	Elapsed               time.Duration
}

// Result is a finished job.
type Result struct {
	// Counts per customer. Customers with no qualifying event are absent.
	Counts map[string]int64
	// Files and Rows read from the lake; TailRecords read from Kafka because the lake
	// did not hold them (not yet, or no longer: see Missing).
	Files       int
	Rows        int64
	TailRecords int64
	// TypedFiles counts the files decided by typed columns alone (Predicate.Typed);
	// PrefilteredFiles those whose typed columns chose the rows the Go evaluator
	// decided (Predicate.Prefiltered).
	TypedFiles, PrefilteredFiles int
	// Truncated lists partitions whose history starts above offset 0: what came
	// before is in neither the lake nor Kafka (retention), and the counts cover what is
	// still held. A partition is left out when the rule's lookback does not reach back
	// to what was dropped (lakehouse.PartitionState.DroppedReaches).
	Truncated []Truncation
	// Missing lists the ranges of offsets below Start, above each partition's lower
	// bound (Kafka's log start offset or the lake's first offset, whichever is lower),
	// that the job could not read: a lake file or range lost (a lake deleted, truncated
	// or restarted while Kafka had already dropped the records) and not in Kafka
	// either. Counts do not cover them: they are a lower bound. Empty: the counts are
	// complete. Ranges are sorted by partition and offset.
	Missing []Gap
	// EvalCutShort counts the evaluations of the rule's condition by the Go evaluator
	// (rows no SQL form decides, Kafka's records) that ran out of their work budget
	// (max_rule_eval_work): the counts may lack those events, as live's would.
	EvalCutShort int64
	// Refused counts the matches of customers left out of Counts because they already
	// held Config.MaxCustomers customers or Config.MaxCustomerIDBytes of ids, which
	// RefusedBy names (LimitMaxCustomers or LimitMaxCustomerIDBytes). Zero: every
	// customer is counted.
	Refused   int64
	RefusedBy string
	Elapsed   time.Duration

	maxCustomers int
	maxIDBytes   int64
	idBytes      int64
	keep         func(string) bool
}

// The limits a job's counts can reach, as Result.RefusedBy names them.
const (
	LimitMaxCustomers       = "max_customers"
	LimitMaxCustomerIDBytes = "max_customer_ids_bytes"
)

// count adds n matches of customer c, unless c is new and the counts are full
// (Result.Refused). Customers come in order of their first matching event, by
// partition then offset, from the lake's count query (Runner.count) as from Kafka's
// tail after it, so that the job keeps the customers live's counters would, however
// much of the history the archiver had.
func (r *Result) count(c string, n int64) {
	if _, ok := r.Counts[c]; !ok {
		limit := ""
		switch {
		case r.maxCustomers > 0 && len(r.Counts) >= r.maxCustomers:
			limit = LimitMaxCustomers
		case r.maxIDBytes > 0 && r.idBytes+int64(len(c)) > r.maxIDBytes:
			limit = LimitMaxCustomerIDBytes
		}
		if limit != "" && (r.keep == nil || !r.keep(c)) {
			r.refuse(limit, n)
			return
		}
		r.idBytes += int64(len(c))
	}
	r.Counts[c] += n
}

func (r *Result) refuse(limit string, n int64) {
	if r.RefusedBy == "" {
		r.RefusedBy = limit
	}
	r.Refused += n
}

// Truncation is a partition whose history, as held, starts at offset From.
type Truncation struct {
	Partition int32
	From      int64
}

// Incomplete tells whether some history below Start could not be read (see Missing).
func (r *Result) Incomplete() bool { return len(r.Missing) > 0 }

// Gap is a range of one partition's offsets that a job could not read.
type Gap struct {
	Partition int32 `json:"partition"`
	// From and To are the first and last offsets missing (inclusive).
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// Reason says why neither the lake nor Kafka had them.
	Reason string `json:"reason"`
}

func (g Gap) String() string {
	return fmt.Sprintf("partition %d offsets %d-%d (%s)", g.Partition, g.From, g.To, g.Reason)
}
