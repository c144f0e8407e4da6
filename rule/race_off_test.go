//go:build !race

package rule

// raceEnabled: see race_on_test.go.
const raceEnabled = false
