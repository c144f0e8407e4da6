//go:build race

package lakehouse

// UnderRace: the race pass of make test (-race -short), where a test of encoding alone
// (one goroutine: nothing for the detector to find) runs seven times slower and the
// plain pass runs it anyway. Exported for the external test package, as export_test.go
// does.
const UnderRace = true
