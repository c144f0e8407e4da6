// Package backfill computes a rule's counts over history with DuckDB, so that a new or
// fixed rule starts with the counts the past already holds.
//
// Contract: for rule r and start offsets {partition → start}, a job counts per customer
// the archived events with offset < start[partition] (and within r's lookback) that
// satisfy r, with exactly the verdicts the live evaluator gives: a condition becomes
// DuckDB SQL only in forms proven equal to the Go evaluator, and otherwise runs the Go
// evaluator inside DuckDB as a scalar UDF (see Compile). No text of a rule is ever
// spliced into SQL.
package backfill
