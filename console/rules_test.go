package console

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/rule"
)

// fixedBackend answers with fixed rules and counts: the state a daemon is in midway
// through backfills, which a test against a real daemon only catches by luck.
type fixedBackend struct {
	rules  contract.RuleList
	counts map[rule.Key]contract.CountSummary
}

func (b fixedBackend) Rules() contract.RuleList                      { return b.rules }
func (b fixedBackend) Counts(int) map[rule.Key]contract.CountSummary { return b.counts }
func (b fixedBackend) CountsPage(rule.Key, string, int) ([]contract.CountView, string, bool) {
	return nil, "", false
}
func (b fixedBackend) ListenAddr() string { return "127.0.0.1:8080" }
func (b fixedBackend) Kafka() (ingest.KafkaConfig, ingest.Topics) {
	return ingest.KafkaConfig{}, ingest.Topics{}
}
func (b fixedBackend) LakeURL() string                      { return "" }
func (b fixedBackend) Deliveries() []contract.AlertDelivery { return nil }
func (b fixedBackend) Destinations() []*rule.Destination    { return nil }
func (b fixedBackend) Mutes() []*rule.Mute                  { return nil }
func (b fixedBackend) Retired(rule.Key) (int64, bool)       { return 0, false }

func TestRulesShowStateProgressAndCounts(t *testing.T) {
	t.Parallel()
	b := fixedBackend{
		rules: contract.RuleList{Rules: []contract.RuleView{
			{Scope: "*", ID: "filling", Status: "backfilling", Backfill: []contract.BackfillProgress{
				{Partition: 0, FilesDone: 1, FilesTotal: 4, Rows: 100, TailRecords: 3},
				{Partition: 2, FilesDone: 2, FilesTotal: 4, Rows: 50},
			}},
			{Scope: "*", ID: "unknown-total", Status: "backfilling", Backfill: []contract.BackfillProgress{{Partition: 1, Rows: 7}}},
			{Scope: "*", ID: "retrying", Status: "backfilling", Backfill: []contract.BackfillProgress{{Partition: 1, Attempts: 3, LastError: "lake unavailable"}}},
			{Scope: "c-1", ID: "rejected-fix", Status: "live", LastError: "control at offset 9 rejected: …"},
			{Scope: "c-1", ID: "quiet", Status: "live"},
		}},
		counts: map[rule.Key]contract.CountSummary{
			{Scope: "*", ID: "filling"}: {Customers: 2, Total: 9, Top: []contract.CustomerCount{{Customer: "c-1", Count: 6, PartitionMax: 6}, {Customer: "c-2", Count: 3, PartitionMax: 3}}},
		},
	}
	c, err := New(Config{Backend: b, RefreshInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := c.rules()
	want := []struct {
		state    string
		progress *Progress
		total    int64
	}{
		{"backfilling", &Progress{Partitions: 2, FilesDone: 3, FilesTotal: 8, Rows: 150, TailRecords: 3, Percent: 37.5}, 9},
		{"backfilling", &Progress{Partitions: 1, Rows: 7, Percent: -1}, 0},
		{"error", &Progress{Partitions: 1, Percent: -1}, 0},
		{"error", nil, 0},
		{"live", nil, 0},
	}
	if len(got.Rules) != len(want) || got.Invalid == nil {
		t.Fatalf("rules %+v", got)
	}
	for i, w := range want {
		r := got.Rules[i]
		if r.State != w.state || r.Counts.Total != w.total || r.Counts.Top == nil ||
			(w.progress == nil) != (r.Progress == nil) || (w.progress != nil && *w.progress != *r.Progress) {
			t.Errorf("%s: state %q progress %+v counts %+v; want %q %+v total %d", r.ID, r.State, r.Progress, r.Counts, w.state, w.progress, w.total)
		}
	}
}
