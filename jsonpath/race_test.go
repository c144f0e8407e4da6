//go:build race

package jsonpath

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocation counts (regexp pools its matchers) mean nothing in race builds.
const raceEnabled = true
