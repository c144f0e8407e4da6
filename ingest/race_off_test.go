//go:build !race

package ingest

// underRace: see race_on_test.go.
const underRace = false
