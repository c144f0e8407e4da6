package console

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
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

// MutesResponse is the body of GET /v1/console/mutes: one page of the mutes in
// (scope, id) order.
type MutesResponse struct {
	Mutes []*rule.Mute `json:"mutes"`
	// Total is how many mutes there are in all, on every page.
	Total int `json:"total"`
	// NextCursor, when not empty, is the cursor of the next page; the last page has none.
	NextCursor string `json:"next_cursor"`
}

// The pages of GET /v1/console/mutes (Config.MutesPageSize, MutesMaxPageSize). The
// daemon keeps up to --max-mutes (10,000) mutes and --max-ended-mutes (10,000) ended
// ones, and the page polls the list every 3 s: a whole list each time was 20,000 rows to
// send and for the page to rebuild.

// MuteRequest is the body of POST /v1/console/mutes: a mute, with For as an
// alternative to Until ("2h": from now).
type MuteRequest struct {
	rule.Mute
	// Until shadows the mute's own, whose zero is "no end": given, it is an end, and
	// one already past is refused (0001-01-01, the zero time, muted for ever).
	Until *time.Time `json:"until,omitempty"`
	For   string     `json:"for,omitempty"`
}

func (c *Console) handleDeliveries(w http.ResponseWriter, r *http.Request) {
	if _, ok := httpjson.Query(w, r, nil); !ok {
		return
	}
	ds := c.cfg.Backend.Deliveries()
	res := DeliveriesResponse{Enabled: ds != nil, Deliveries: ds}
	if res.Deliveries == nil {
		res.Deliveries = []contract.AlertDelivery{}
	}
	httpjson.Write(w, http.StatusOK, res)
}

func (c *Console) handleDestinations(w http.ResponseWriter, r *http.Request) {
	if _, ok := httpjson.Query(w, r, nil); !ok {
		return
	}
	ds := c.cfg.Backend.Destinations()
	if ds == nil {
		ds = []*rule.Destination{}
	}
	httpjson.Write(w, http.StatusOK, DestinationsResponse{Destinations: ds})
}

// handleMutes answers a page of the mutes: limit (MutesPageSize when absent, at most
// MutesMaxPageSize) of them after cursor, in (scope, id) order, so that a cursor stays
// good while mutes come and go: the next page starts after the last key listed,
// whatever was added or removed before it.
func (c *Console) handleMutes(w http.ResponseWriter, r *http.Request) {
	q, ok := httpjson.Query(w, r, []string{"limit", "cursor"})
	if !ok {
		return
	}
	// As /v1/counts answers a limit over --counts-max-page-size.
	limit, ok := c.pageLimit(w, q, c.cfg.MutesPageSize,
		pageBound{max: c.cfg.MutesMaxPageSize, limit: LimitMutesMaxPage, flag: "--console-mutes-max-page-size", paged: "mutes"})
	if !ok {
		return
	}
	cur, err := decodeCursor(q.Get("cursor"), cursorMutes, 2)
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	var after *rule.Key
	if cur != nil {
		after = &rule.Key{Scope: cur[0], ID: cur[1]}
	}
	ms := c.cfg.Backend.Mutes()
	// The backend lists them so (controls.Registry.Mutes); sorted here too, since the
	// cursors depend on it and a sorted list costs one pass to check.
	if !slices.IsSortedFunc(ms, compareMutes) {
		ms = slices.Clone(ms)
		slices.SortFunc(ms, compareMutes)
	}
	start := 0
	if after != nil {
		start, _ = slices.BinarySearchFunc(ms, *after, func(m *rule.Mute, k rule.Key) int {
			return compareKeys(rule.Key{Scope: m.Scope, ID: m.ID}, k)
		})
		if start < len(ms) && ms[start].Scope == after.Scope && ms[start].ID == after.ID {
			start++ // the cursor's mute was listed last: the page starts after it
		}
	}
	end := min(start+limit, len(ms))
	out := MutesResponse{Mutes: ms[start:end], Total: len(ms)}
	if end < len(ms) {
		last := ms[end-1]
		out.NextCursor = encodeCursor(cursorMutes, last.Scope, last.ID)
	}
	if len(out.Mutes) == 0 {
		out.Mutes = []*rule.Mute{}
	}
	httpjson.Write(w, http.StatusOK, out)
}

func compareMutes(a, b *rule.Mute) int {
	return compareKeys(rule.Key{Scope: a.Scope, ID: a.ID}, rule.Key{Scope: b.Scope, ID: b.ID})
}

func compareKeys(a, b rule.Key) int {
	return cmp.Or(strings.Compare(a.Scope, b.Scope), strings.Compare(a.ID, b.ID))
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
		switch {
		case err != nil:
			// ParseDuration's reason, not only the form: "200000d" is positive and well
			// formed, and only its reason ("out of range; at most 106751d") says what to fix.
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf(`for: a positive duration ("2h", "1d"), instead of until: %v`, err))
			return
		case d <= 0 || req.Until != nil:
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
	q, ok := httpjson.Query(w, r, []string{"scope", "id"})
	if !ok {
		return
	}
	if !noBody(w, r, "the query names the mute (scope, id)") {
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
