//go:build !race

package lakehouse

// UnderRace: see race_on_test.go.
const UnderRace = false
