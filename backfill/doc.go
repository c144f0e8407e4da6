// Package backfill computes a rule's counts over history with DuckDB, so that a new or
// fixed rule starts with the counts the past already holds.
//
// Contract: for rule r and start offsets {partition → start}, a job counts per customer
// the events with offset < start[partition] (and within r's lookback) that satisfy r,
// with exactly the verdicts the live stage gives (internal/verdict.Accept, then the Go
// evaluator): a condition becomes DuckDB SQL only in forms proven equal to the Go
// evaluator and only on rows DuckDB's JSON reader reads as ours does (rows of checked
// lake files without a backslash); every other row runs the Go evaluator inside DuckDB
// as a scalar UDF (see Compile). No text of a rule is ever spliced into SQL. Bounded
// (Config.MaxCustomers, MaxCustomerIDBytes), a job keeps the customers whose events
// match first, by partition then offset, as live's counters do, whether the lake or
// Kafka's tail held them.
//
// Coverage is checked, not assumed: per partition, the lake's files must cover every
// offset from the lower bound (Kafka's log start offset, or the lake's first offset,
// whichever is lower) up to start; what they do not (not archived yet, a lake deleted or
// truncated, a file lost) is read from Kafka where Kafka still has it, and the rest is
// reported in Result.Missing — never a silent undercount. A file of the job's snapshot
// that compaction replaced and deleted meanwhile (a job slower than the lake's
// --delete-delay) is no hole: its offsets are read from the newer manifest's files that
// cover them, filtered to its range, without starting the job over (readMoved, at most
// maxMovedRereads manifests in a row). A lake file DuckDB cannot
// read, fetched afresh once to rule out the local cache's copy, fails the job with
// ErrUnreadableFile naming it (a cache that cannot keep the copy, with ErrCacheNotKept:
// see cache.go); a Kafka read that fails, or
// brings no record for 15 s, fails it with ErrTailUnavailable (the caller retries); so
// does, for a job whose Start was read (Job.StartRead, live's hand-off), a Kafka
// listing of the log that ends below Start: Kafka behind its readers, not offsets to
// come.
package backfill
