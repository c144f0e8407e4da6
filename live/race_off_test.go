//go:build !race

package live_test

// underRace: see race_on_test.go.
const underRace = false
