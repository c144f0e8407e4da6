package live

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/rule"
)

// consoleHandler is the rule console (package console) for this daemon, mounted at /
// by routes. A console that cannot be built answers 503 with the reason; the rest of
// the daemon runs on.
func (d *Daemon) consoleHandler() http.Handler {
	c, err := console.New(console.Config{Backend: d.ConsoleBackend(), APIToken: d.cfg.APIToken, Logger: d.log})
	if err != nil {
		d.log.Error("rule console unavailable", "err", err)
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusServiceUnavailable, apiError{"rule console unavailable: " + err.Error()})
		})
	}
	return c
}

// ConsoleBackend is what the rule console reads from this daemon.
func (d *Daemon) ConsoleBackend() console.Backend { return consoleBackend{d} }

type consoleBackend struct{ d *Daemon }

func (b consoleBackend) Rules() console.Rules {
	views := b.d.Rules()
	out := console.Rules{Rules: make([]console.RuleStatus, 0, len(views))}
	for _, v := range views {
		rs := console.RuleStatus{Scope: v.Scope, ID: v.ID, Version: v.Version, Name: v.Name, Threshold: v.Threshold,
			Status: v.Status, ControlOffset: v.ControlOffset, UpdatedAt: v.UpdatedAt, LastError: v.LastError, Rule: v.Rule}
		for _, bf := range v.Backfill {
			rs.Backfill = append(rs.Backfill, console.BackfillProgress{Partition: bf.Partition, Start: bf.Start,
				FilesDone: bf.FilesDone, FilesTotal: bf.FilesTotal, Rows: bf.Rows, TailRecords: bf.TailRecords,
				Attempts: bf.Attempts, LastError: bf.LastError, Elapsed: bf.Elapsed})
		}
		out.Rules = append(out.Rules, rs)
	}
	for _, ic := range b.d.rules.Invalid() {
		out.Invalid = append(out.Invalid, console.InvalidControl{Key: ic.Key, Offset: ic.Offset, Time: ic.Time, Error: ic.Error, Problems: ic.Problems})
	}
	return out
}

// Counts walks every counter once (as TopCounts does) and keeps, per active rule
// version, the number of customers, the total and the top customers.
func (b consoleBackend) Counts(top int) map[rule.Key]console.CountSummary {
	s := b.d.active.Load()
	per := map[rule.Key][]console.CustomerCount{}
	b.d.eachPartition(func(p *partition) {
		p.counts.each(func(ci int, id uint32, n int64) {
			if ar := s.byID[id]; ar != nil && n > 0 {
				per[ar.key] = append(per[ar.key], console.CustomerCount{Customer: p.counts.name(ci), Count: n})
			}
		})
	})
	out := make(map[rule.Key]console.CountSummary, len(per))
	for k, cs := range per {
		sum := console.CountSummary{Customers: len(cs)}
		for _, c := range cs {
			sum.Total += c.Count
		}
		slices.SortFunc(cs, func(a, b console.CustomerCount) int {
			if c := cmp.Compare(b.Count, a.Count); c != 0 {
				return c
			}
			return cmp.Compare(a.Customer, b.Customer)
		})
		sum.Top = slices.Clip(cs[:min(top, len(cs))])
		out[k] = sum
	}
	return out
}

func (b consoleBackend) ListenAddr() string { return b.d.HTTPAddr() }

func (b consoleBackend) Kafka() (ingest.KafkaConfig, ingest.Topics) {
	kc := b.d.cfg.Kafka
	kc.Brokers = slices.Clone(kc.Brokers)
	return kc, b.d.cfg.Topics
}

func (b consoleBackend) LakeURL() string { return b.d.cfg.LakeURL }
