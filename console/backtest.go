package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/httpjson"
	"github.com/hindsightdev/hindsight/rule"
)

// MaxBacktestDays bounds a backtest request's days.
const MaxBacktestDays = 3650

// handleBacktest answers POST /v1/console/backtest {"rule": {…}, "days": N}: how often
// the draft would have fired over the lake's history (the last N days, default all),
// then the events Kafka holds that the lake does not yet — contract.Backtest, the
// answer of `hindsight backtest`, through the live evaluator's code. It is a heavy
// request (Config.Admit) bounded by PreviewTimeout: past it the answer is 503 naming
// the flag, not a partial count, since a backtest cut short would undercount.
func (c *Console) handleBacktest(w http.ResponseWriter, r *http.Request) {
	var req BacktestRequest
	rl, ok := c.readDraftRule(w, r, &req, `{"rule": {…}, "days": N}`)
	if !ok {
		return
	}
	if req.Days < 0 || req.Days > MaxBacktestDays {
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("days must be from 0 (the whole lake) to %d", MaxBacktestDays))
		return
	}
	done, ok := c.admit(w)
	if !ok {
		return
	}
	defer done()
	ctx, cancel := c.bind(r.Context())
	defer cancel()
	lake, err := c.openLake(ctx)
	if err != nil {
		httpjson.Error(w, http.StatusServiceUnavailable, "backtest: "+err.Error())
		return
	}
	kc, topics := c.cfg.Backend.Kafka()
	opts, err := kc.Opts()
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "backtest: Kafka options: "+err.Error())
		return
	}
	cfg := backtest.Config{Lake: lake, Rules: []*rule.Rule{rl}, Limits: c.cfg.WindowLimits, MaxDays: c.cfg.MaxBacktestDays,
		Brokers: kc.Brokers, Topic: topics.Events, KafkaOpts: opts}
	if req.Days > 0 {
		cfg.From = time.Now().Add(-time.Duration(req.Days) * 24 * time.Hour).UTC()
	}
	if !rl.Global() {
		cfg.Customer = rl.Scope
	}
	runCtx, stop := context.WithDeadline(ctx, arrived(ctx).Add(c.cfg.PreviewTimeout)) // see arrived
	defer stop()
	rep, err := backtest.Run(runCtx, cfg)
	switch {
	case err != nil && ctx.Err() == nil && errors.Is(runCtx.Err(), context.DeadlineExceeded):
		c.reached(LimitPreviewTimeout)
		w.Header().Set("Retry-After", "1")
		httpjson.Error(w, http.StatusServiceUnavailable, fmt.Sprintf(
			"the backtest did not finish within %s (--preview-timeout): ask for fewer days, or run `hindsight backtest`, which has no time bound", c.cfg.PreviewTimeout))
		return
	case errors.Is(err, backtest.ErrLakeChanged):
		// Compaction replaced files under every read Run made: the lake is sound, and a
		// later try reads it between merges.
		w.Header().Set("Retry-After", "1")
		httpjson.Error(w, http.StatusServiceUnavailable, err.Error())
		return
	case err != nil:
		httpjson.Error(w, http.StatusInternalServerError, "backtest: "+err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, rep)
}
