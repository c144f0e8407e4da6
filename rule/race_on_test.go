//go:build race

package rule

// raceEnabled: the test binary was built with -race, whose instrumentation allocates
// more for the same work than a plain build does.
const raceEnabled = true
