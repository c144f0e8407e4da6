package live

import (
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
// version, the number of customers, the total and the top customers: memory in the
// number of rules times top, not in the number of counters.
func (b consoleBackend) Counts(top int) map[rule.Key]contract.CountSummary {
	s := b.d.active.Load()
	type acc struct {
		sum contract.CountSummary
		top *topK[contract.CustomerCount]
	}
	worse := func(a, b contract.CustomerCount) bool {
		if a.Count != b.Count {
			return a.Count < b.Count
		}
		return a.Customer > b.Customer
	}
	per := map[rule.Key]*acc{}
	b.d.eachPartition(func(p *partition) {
		p.counts.each(func(ci int, id uint32, n int64) {
			ar := s.versionByID(id)
			if ar == nil || n <= 0 {
				return
			}
			a := per[ar.Key]
			if a == nil {
				a = &acc{top: newTopK(top, worse)}
				per[ar.Key] = a
			}
			a.sum.Customers++
			a.sum.Total += n
			// The customer's name is copied out only for a counter that makes the list.
			if w := a.top.worstOrNil(); top > 0 && (w == nil || n > w.Count || (n == w.Count && string(p.counts.nameBytes(ci)) < w.Customer)) {
				a.top.offer(contract.CustomerCount{Customer: p.counts.name(ci), Count: n})
			}
		})
	})
	out := make(map[rule.Key]contract.CountSummary, len(per))
	for k, a := range per {
		a.sum.Top = a.top.best()
		out[k] = a.sum
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
