//go:build race

package notify_test

// underRace: the race pass of make test (-race -short) keeps the scenarios that wait
// out a rebalance, which the quick tier leaves out: a rebalance's hand-over of
// partitions between goroutines is what that pass is for.
const underRace = true
