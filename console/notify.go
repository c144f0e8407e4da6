package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/httpjson"
	"github.com/hindsightdev/hindsight/rule"
)

// DeliveriesResponse is the body of GET /v1/console/deliveries.
type DeliveriesResponse struct {
	// Enabled is false when this process runs no notify stage (live --no-notify).
	Enabled    bool                     `json:"enabled"`
	Deliveries []contract.AlertDelivery `json:"deliveries"`
}

// DestinationsResponse is the body of GET /v1/console/destinations.
type DestinationsResponse struct {
	Destinations []*rule.Destination `json:"destinations"`
}

// MutesResponse is the body of GET /v1/console/mutes.
type MutesResponse struct {
	Mutes []*rule.Mute `json:"mutes"`
}

// MuteRequest is the body of POST /v1/console/mutes: a mute, with For as an
// alternative to Until ("2h": from now).
type MuteRequest struct {
	rule.Mute
	// Until shadows the mute's own, whose zero is "no end": given, it is an end, and
	// one already past is refused (0001-01-01, the zero time, muted for ever).
	Until *time.Time `json:"until,omitempty"`
	For   string     `json:"for,omitempty"`
}

func (c *Console) handleDeliveries(w http.ResponseWriter, _ *http.Request) {
	ds := c.cfg.Backend.Deliveries()
	res := DeliveriesResponse{Enabled: ds != nil, Deliveries: ds}
	if res.Deliveries == nil {
		res.Deliveries = []contract.AlertDelivery{}
	}
	httpjson.Write(w, http.StatusOK, res)
}

func (c *Console) handleDestinations(w http.ResponseWriter, _ *http.Request) {
	ds := c.cfg.Backend.Destinations()
	if ds == nil {
		ds = []*rule.Destination{}
	}
	httpjson.Write(w, http.StatusOK, DestinationsResponse{Destinations: ds})
}

func (c *Console) handleMutes(w http.ResponseWriter, _ *http.Request) {
	ms := c.cfg.Backend.Mutes()
	if ms == nil {
		ms = []*rule.Mute{}
	}
	httpjson.Write(w, http.StatusOK, MutesResponse{Mutes: ms})
}

// handleAddMute publishes a mute control and answers as a save does.
func (c *Console) handleAddMute(w http.ResponseWriter, r *http.Request) {
	var req MuteRequest
	if !c.readJSON(w, r, &req, "the body is not a mute") {
		return
	}
	m := req.Mute
	if req.For != "" {
		d, err := rule.ParseDuration(req.For)
		if err != nil || d <= 0 || req.Until != nil {
			httpjson.Error(w, http.StatusBadRequest, `for: a positive duration ("2h", "1d"), instead of until`)
			return
		}
		m.Until = rule.MuteUntil(time.Now(), time.Duration(d))
	}
	if req.Until != nil {
		if !req.Until.After(time.Now()) {
			// Published, it would mute nothing (and say ok), or, at the zero time, mute
			// for ever.
			httpjson.Error(w, http.StatusBadRequest, "until: "+req.Until.UTC().Format(time.RFC3339)+" is past: a mute that ended mutes nothing")
			return
		}
		m.Until = req.Until.UTC()
	}
	if m.Scope == "" {
		m.Scope = rule.GlobalScope
	}
	if m.Rule == "" {
		m.Rule = rule.GlobalScope
	}
	if err := m.Validate(); err != nil {
		// Field by field, as a draft rule's problems come, so the page can point at them.
		problems := []rule.Problem{}
		var ve *rule.ValidationError
		if errors.As(err, &ve) {
			problems = ve.Problems
		}
		httpjson.Write(w, http.StatusUnprocessableEntity, SaveResponse{Status: contract.ControlInvalid, Key: "mute:" + rule.Key{Scope: m.Scope, ID: m.ID}.String(),
			Op: rule.OpUpsert, Message: err.Error(), Problems: problems, Offset: -1})
		return
	}
	c.publishControl(w, r.Context(), rule.UpsertMute(&m))
}

// handleDeleteMute publishes the delete of mute ?scope=&id=.
func (c *Console) handleDeleteMute(w http.ResponseWriter, r *http.Request) {
	q, ok := httpjson.Query(w, r)
	if !ok {
		return
	}
	k := rule.Key{Scope: q.Get("scope"), ID: q.Get("id")}
	if k.Scope == "" || k.ID == "" {
		httpjson.Error(w, http.StatusBadRequest, "scope and id are required: DELETE /v1/console/mutes?scope=*&id=ID")
		return
	}
	found := false
	for _, m := range c.cfg.Backend.Mutes() {
		found = found || m.Scope == k.Scope && m.ID == k.ID
	}
	if !found {
		httpjson.Write(w, http.StatusNotFound, SaveResponse{Status: contract.ControlNotFound, Key: "mute:" + k.String(), Op: rule.OpDelete, Offset: -1,
			Message: fmt.Sprintf("no mute %s: nothing was published", k)})
		return
	}
	c.publishControl(w, r.Context(), rule.DeleteOf(rule.KindMute, k))
}

func (c *Console) publishControl(w http.ResponseWriter, ctx context.Context, ctl *rule.Control) {
	res, err := c.publish(ctx, ctl, c.cfg.StatusWait)
	if err != nil {
		httpjson.Error(w, http.StatusBadGateway, err.Error())
		return
	}
	httpjson.Write(w, saveCode(res.Status), res)
}
