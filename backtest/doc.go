// Package backtest runs rules over the lake's history without applying them and says
// how often each would have fired (contract.Backtest).
//
// Contract:
//
//   - The verdict is live's: each partition's events, in offset order, go through a
//     window.Replay of their own (the live evaluator's code, per partition as live
//     keeps its state), with the lake's record time as the record timestamp. A
//     firing is a crossing live would have raised as an alert.
//   - The lake is read, and with Config.Brokers the events topic's offsets above the
//     lake's watermark of each partition, up to the end the topic had when the run
//     began, after that partition's files, and those below the lake's first offset
//     (dropped by its retention) that the topic still holds, before them, as backfill
//     reads them: records live would dead-letter (internal/verdict) are counted
//     (Invalid), not evaluated. A Kafka range that cannot be read, or brings no record
//     for 15 s, fails the run (ErrTailUnavailable). A file the manifest lists but the
//     bucket lacks (deleted by hand) is read from Kafka too, as backfill reads it; a
//     file a newer manifest no longer lists (replaced by compaction meanwhile) makes
//     Run start over, counting from nothing, on the newest manifest (backfill, which
//     counts in no order, re-reads only the lost offsets), at most 3 reads in all
//     (maxSnapshotRetries): a run slower than --delete-delay over a lake that keeps
//     compacting meets a merge on every read; a lake that changed under each
//     fails the run with ErrLakeChanged, to be run again (the console answers it 503
//     with Retry-After). PartitionState fails with it at once.
//   - What neither holds is named, not guessed (contract.Backtest.Missing): offsets
//     Kafka deleted before they were archived, and a partition's offsets below the
//     first one held when the time range starts before its first event, and a lost
//     file's offsets Kafka no longer holds. A hand-off's replay (PartitionState) names
//     the former and the latter and, as backfill, counts from the first offset held
//     without calling the rest missing (also in a partition the lake has none of yet).
//     A replay whose end was read (Config.EndRead: live's) fails with
//     ErrTailUnavailable when Kafka lists the log as ending below that end (or below
//     the lake's first offset, for the head it reads from Kafka), or does not list
//     the partition: Kafka behind its readers, not offsets to come. A partition not
//     listed whose offsets below the end the lake holds all, from 0 on, is read from
//     the lake: nothing is needed from Kafka.
//   - From and To bound events by record time, [From, To); Customer keeps one
//     customer's events. Events outside them are not evaluated at all, so windows and
//     running counts start with the first event in range.
//   - Rows that are not JSON are counted (Invalid) and not evaluated, as live
//     dead-letters them; an offset read twice counts once.
//
// It depends on lakehouse, window, rule, jsonpath, contract and internal/{verdict,
// kafkarange,kafkatime}.
package backtest
