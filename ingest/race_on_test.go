//go:build race

package ingest

// underRace: the race pass of make test (-race -short) keeps the scenarios of dead
// letters waiting for a topic that refuses writes, which the quick tier leaves out:
// the consumer's poll loop, its workers and the produce promises meet there.
const underRace = true
