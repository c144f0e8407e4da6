// Package baseline holds the designs Hindsight's benchmarks measure themselves against,
// shared by the testing.B benchmarks and by `hindsight bench`, so that both compare
// with exactly the same code:
//
//   - Evaluator: the original system's one-path-per-rule evaluator (parse each event
//     once with a general JSON library, ojg, then evaluate every rule's JSONPath in
//     turn), the peer of rule.Set.
//   - ZstdJSONLines: what an archiver without Parquet would write, the peer of the
//     lakehouse archiver.
//   - ReplayKafka: counting a rule's history by replaying the events topic through the
//     live evaluator's matching code, the peer of a backfill.
//
// Each baseline decides exactly what its Hindsight peer decides (tests check it), so
// that a ratio of their speeds compares the same work.
package baseline
