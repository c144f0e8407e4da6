package live

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/httpjson"
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
			httpjson.Error(w, http.StatusServiceUnavailable, "rule console unavailable: "+err.Error())
		})
	}
	return c
}

// ConsoleBackend is what the rule console reads from this daemon.
func (d *Daemon) ConsoleBackend() console.Backend { return consoleBackend{d} }

type consoleBackend struct{ d *Daemon }

func (b consoleBackend) Rules() contract.RuleList { return b.d.RuleList() }

// Counts walks every counter once (as TopCounts does) and keeps, per active rule
// version, the number of customers, the total and the top customers.
func (b consoleBackend) Counts(top int) map[rule.Key]contract.CountSummary {
	s := b.d.active.Load()
	per := map[rule.Key][]contract.CustomerCount{}
	b.d.eachPartition(func(p *partition) {
		p.counts.each(func(ci int, id uint32, n int64) {
			if ar := s.byID[id]; ar != nil && n > 0 {
				per[ar.Key] = append(per[ar.Key], contract.CustomerCount{Customer: p.counts.name(ci), Count: n})
			}
		})
	})
	out := make(map[rule.Key]contract.CountSummary, len(per))
	for k, cs := range per {
		sum := contract.CountSummary{Customers: len(cs)}
		for _, c := range cs {
			sum.Total += c.Count
		}
		slices.SortFunc(cs, func(a, b contract.CustomerCount) int {
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
