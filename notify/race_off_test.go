//go:build !race

package notify_test

// underRace: see race_on_test.go.
const underRace = false
