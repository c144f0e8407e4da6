// Package rulecheck runs the tests a rules file carries (rule.RuleTest: events, and the
// alerts they must raise) through the evaluator live runs, window.Replay over a set
// holding just the rule, and says how the alerts raised differ from those expected
// (Run). Stream evaluates a set of rules over a stream of events the same way.
// `hindsight rules test` reports both and `hindsight rules apply` publishes no file
// whose tests fail.
package rulecheck
