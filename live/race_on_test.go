//go:build race

package live_test

// underRace: the race pass of make test (-race -short) keeps the scenarios of alerts
// produced by two clients in order, which the quick tier leaves out: their ordering
// across goroutines is what that pass is for.
const underRace = true
