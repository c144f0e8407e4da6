package live

import (
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
)

// Registry is the daemon's fold of the controls topic.
func (d *Daemon) Registry() *controls.Registry { return d.rules }

// applyControls folds one fetch of controls into the registry and publishes the result
// to the evaluator once: rebuilding the rule index costs time linear in the number of
// rules, so a flood of controls must not rebuild it once per control.
func (d *Daemon) applyControls(recs []controls.Record) {
	changed := false
	for _, cr := range recs {
		changed = d.applyControl(cr) || changed
	}
	if changed && d.loaded {
		d.publishRules()
	}
}

// applyControl folds cr into the registry, reports its outcome and says whether the
// active rules changed.
func (d *Daemon) applyControl(cr controls.Record) bool {
	status, msg := d.rules.Apply(cr)
	d.controls.Report(cr.Status(status, msg, time.Now()))
	switch {
	case status == contract.ControlOK && !d.loaded: // replaying the topic at start: one line at the end
		d.log.Debug("control applied", "key", cr.Key, "op", cr.Control.Op, "offset", cr.Offset)
	case status == contract.ControlOK:
		d.log.Info("control applied", "key", cr.Key, "op", cr.Control.Op, "offset", cr.Offset)
	default:
		d.log.Warn("control not applied", "key", cr.Key, "offset", cr.Offset, "status", status, "reason", msg)
	}
	return status == contract.ControlOK
}

func (d *Daemon) onRulesLoaded() {
	d.loaded = true
	d.publishRules()
	d.log.Info("rules loaded", "active", d.rules.Len())
	close(d.rulesLoaded)
}

func (d *Daemon) publishRules() {
	s, err := newActiveSet(d.rules.Versions())
	if err != nil {
		d.log.Error("rules changed but could not be indexed; keeping the previous rules", "err", err)
		return
	}
	d.active.Store(s)
	d.m.rules.Set(float64(s.set.Len()))
	d.m.ruleIndexBuilds.Inc()
	// Idle partitions adopt the rules now, at the offset they will evaluate next, so
	// that a rule's history is counted even if no event follows it.
	d.eachPartition(func(p *partition) {
		if p.active != s && p.next >= 0 {
			p.reconcile(d, s, p.next)
		}
	})
}
