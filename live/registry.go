package live

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/rule"
)

// StatusLive is the status of a rule counted live. ("backfilling" comes with backfill.)
const StatusLive = "live"

// maxInvalid bounds the invalid controls remembered for /v1/rules.
const maxInvalid = 100

// activeRule is one version of one rule as the evaluator counts it. Its identity (the
// pointer) changes exactly when the rule's version changes, so counters keyed by it
// start from zero for a new version and survive changes to other rules.
type activeRule struct {
	rule *rule.Rule
	key  rule.Key
	// controlOffset (the offset of the upsert that made this version active) and
	// fingerprint (a hash of the rule's JSON) identify the version across processes:
	// a snapshot's counters are restored only onto the very same rule. Both are set at
	// creation and never change.
	controlOffset int64
	fingerprint   uint64
	// id keys this version's counters in a partition's counterStore: unique in this
	// process, never reused.
	id uint32

	// Guarded by the Registry's mutex; the evaluator never reads them.
	updatedAt time.Time
	lastError string
}

// activeSet is an immutable view of the active rules, swapped atomically for the
// evaluator.
type activeSet struct {
	set    *rule.Set
	byRule map[*rule.Rule]*activeRule
	byKey  map[rule.Key]*activeRule
	byID   map[uint32]*activeRule
}

// Registry folds control records into the set of active rules. It is what the daemon
// and `hindsight rules list` both use, so they agree on what the controls topic means.
type Registry struct {
	mu      sync.Mutex
	rules   map[rule.Key]*activeRule
	lastID  uint32
	invalid []InvalidControl
	cached  *activeSet // nil when rules changed since it was built
}

// InvalidControl is a rejected control record, as /v1/rules lists it.
type InvalidControl struct {
	Key       string         `json:"key"`
	Partition int32          `json:"partition"`
	Offset    int64          `json:"offset"`
	Time      time.Time      `json:"time"`
	Error     string         `json:"error"`
	Problems  []rule.Problem `json:"problems,omitempty"`
}

// RuleView is one active rule with its status, as /v1/rules lists it.
type RuleView struct {
	Scope     string `json:"scope"`
	ID        string `json:"id"`
	Version   int64  `json:"version"`
	Name      string `json:"name,omitempty"`
	Threshold int64  `json:"threshold"`
	// Status is "backfilling" while history is being counted in a partition owned here,
	// then "live".
	Status string `json:"status"`
	// ControlOffset is the offset of the upsert that made this version active.
	ControlOffset int64     `json:"control_offset"`
	UpdatedAt     time.Time `json:"updated_at"`
	// LastError is the latest rejected control for this rule's key since this version.
	LastError string `json:"last_error,omitempty"`
	// StartOffsets are, per events partition owned here, the offset of the first event
	// evaluated with this version (the hand-off point for backfill).
	StartOffsets map[int32]int64 `json:"start_offsets,omitempty"`
	// Backfill lists the partitions whose history is still being counted, with progress.
	Backfill []BackfillView `json:"backfill,omitempty"`
	Rule     *rule.Rule     `json:"rule"`
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{rules: map[rule.Key]*activeRule{}}
}

// Apply folds one control record in and returns its outcome (an ingest.Status*
// constant) with a message for anything but ok.
func (g *Registry) Apply(cr ingest.ControlRecord) (status, message string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cr.Err != nil {
		ic := InvalidControl{Key: cr.Key, Partition: cr.Partition, Offset: cr.Offset, Time: cr.Time.UTC(), Error: cr.Err.Error()}
		var ve *rule.ValidationError
		if errors.As(cr.Err, &ve) {
			ic.Problems = ve.Problems
		}
		g.invalid = append(g.invalid, ic)
		if len(g.invalid) > maxInvalid {
			g.invalid = slices.Delete(g.invalid, 0, len(g.invalid)-maxInvalid)
		}
		if k, err := rule.ParseKey(cr.Key); err == nil {
			if ar := g.rules[k]; ar != nil {
				ar.lastError = fmt.Sprintf("control at offset %d rejected: %s", cr.Offset, cr.Err)
			}
		}
		return ingest.StatusInvalid, cr.Err.Error()
	}
	c := cr.Control
	k := c.Key()
	cur := g.rules[k]
	switch c.Op {
	case rule.OpUpsert:
		if cur != nil && c.Rule.Version <= cur.rule.Version {
			msg := fmt.Sprintf("version %d is not newer than the active version %d; ignored (raise the version to replace the rule)", c.Rule.Version, cur.rule.Version)
			cur.lastError = fmt.Sprintf("control at offset %d: %s", cr.Offset, msg)
			return ingest.StatusStale, msg
		}
		g.lastID++
		g.rules[k] = &activeRule{rule: c.Rule, key: k, controlOffset: cr.Offset, fingerprint: ruleFingerprint(c.Rule), id: g.lastID, updatedAt: cr.Time.UTC()}
	case rule.OpDelete:
		if cur == nil {
			return ingest.StatusNotFound, fmt.Sprintf("no active rule %s", k)
		}
		delete(g.rules, k)
	default:
		return ingest.StatusInvalid, fmt.Sprintf("unknown op %q", c.Op)
	}
	g.cached = nil
	return ingest.StatusOK, ""
}

// Len is the number of active rules.
func (g *Registry) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.rules)
}

// Get returns the active rule k.
func (g *Registry) Get(k rule.Key) (*rule.Rule, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ar, ok := g.rules[k]
	if !ok {
		return nil, false
	}
	return ar.rule, true
}

// activeSet returns the current view, rebuilding the rule index if rules changed.
func (g *Registry) activeSet() (*activeSet, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cached != nil {
		return g.cached, nil
	}
	s := &activeSet{byRule: make(map[*rule.Rule]*activeRule, len(g.rules)), byKey: make(map[rule.Key]*activeRule, len(g.rules)), byID: make(map[uint32]*activeRule, len(g.rules))}
	rules := make([]*rule.Rule, 0, len(g.rules))
	for k, ar := range g.rules {
		rules = append(rules, ar.rule)
		s.byRule[ar.rule] = ar
		s.byKey[k] = ar
		s.byID[ar.id] = ar
	}
	set, err := rule.NewSet(rules)
	if err != nil {
		return nil, fmt.Errorf("live: indexing %d rules: %w", len(rules), err)
	}
	s.set = set
	g.cached = s
	return s, nil
}

// Rules lists the active rules in (scope, id) order.
func (g *Registry) Rules() []RuleView {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]RuleView, 0, len(g.rules))
	for _, ar := range g.rules {
		r := ar.rule
		out = append(out, RuleView{Scope: r.Scope, ID: r.ID, Version: r.Version, Name: r.Name, Threshold: r.Threshold,
			Status: StatusLive, ControlOffset: ar.controlOffset, UpdatedAt: ar.updatedAt, LastError: ar.lastError, Rule: r})
	}
	slices.SortFunc(out, func(a, b RuleView) int {
		if c := strings.Compare(a.Scope, b.Scope); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Invalid lists the most recent rejected controls, oldest first.
func (g *Registry) Invalid() []InvalidControl {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.invalid)
}

// ruleFingerprint hashes the rule's JSON encoding (fields in declaration order, so the
// same rule always hashes the same).
func ruleFingerprint(r *rule.Rule) uint64 {
	h := fnv.New64a()
	_ = json.NewEncoder(h).Encode(r)
	return h.Sum64()
}
