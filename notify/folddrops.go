package notify

import (
	"log/slog"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/limitmetric"
	"github.com/hindsightdev/hindsight/rule"
)

// foldDrops is what the stage's own controls fold had dropped past its limits when
// last counted: the registry keeps running totals, and hindsight_limit_reached_total
// takes their growth, as live counts its fold's (live/rules.go). Only the goroutine
// folding the controls uses it.
type foldDrops struct {
	rejected, endedVersions, endedMutes, retired int64
}

// count adds to limits what reg dropped since the last count.
func (d *foldDrops) count(reg *controls.Registry, limits *limitmetric.Limits, log *slog.Logger) {
	if n := reg.RejectedDropped(); n > d.rejected {
		limits.Count(rule.LimitRejected).Add(float64(n - d.rejected))
		d.rejected = n
	}
	if n := reg.EndedDropped(); n > d.endedVersions {
		limits.Count(rule.LimitEndedVersions).Add(float64(n - d.endedVersions))
		d.endedVersions = n
	}
	if n := reg.RetiredDropped(); n > d.retired {
		limits.Count(rule.LimitRules).Add(float64(n - d.retired))
		d.retired = n
	}
	if n := reg.EndedMutesDropped(); n > d.endedMutes {
		limits.Count(rule.LimitEndedMutes).Add(float64(n - d.endedMutes))
		log.Info("ended mutes forgotten before --mute-retention, the earliest ended first: more are held than --max-ended-mutes",
			"forgotten", n-d.endedMutes, "max_ended_mutes", rule.CurrentLimits().MaxEndedMutes)
		d.endedMutes = n
	}
}
