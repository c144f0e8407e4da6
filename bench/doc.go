// Package bench measures Hindsight as `hindsight bench` and CI run it. The contract:
//
//   - Every benchmark is RunX(ctx, XConfig) (*XReport, error); configs document their
//     defaults (EnsureDefaults) and check themselves (Validate). All draw events and
//     rules from one seeded generator (internal/workload), so a seed names the work.
//   - Every benchmark measures its baseline in the same run and reports the ratio
//     beside the absolute figures: eval against the one-path-per-rule evaluator,
//     archive against zstd JSON lines, backfill against a Kafka replay through the
//     live evaluator, latency against a pass-through relay through the same broker
//     (internal/baseline holds the baselines the testing.B benchmarks share).
//   - XReport.Result() is the benchmark's entry in a Report: JSON (WriteFile,
//     ReadReport), a table (WriteTable), a plot (WritePlot), changes between two
//     reports (Compare), and the regression gate (Gate), which looks at ratios only,
//     never at absolute times, since the machine running it may be shared.
//
// Latency (RunLatency): a producer sends events at a fixed rate to a broker in a
// separate process (or given brokers); the live daemon, in this process, evaluates
// them; a consumer reads the alerts back. Probe events each belong to a customer of
// their own and a global threshold-1 rule matches them, so every probe raises exactly
// one alert, and the time from handing it to the producer to receiving its alert is
// its ingest-to-alert latency. Other rules are active meanwhile so that evaluation does
// real work.
package bench
