package window_test

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestOracle is the property test of the package: for random rules and random event
// streams (out of order, late, duplicate times, missing and malformed fields, values of
// every JSON kind), the crossings, the open windows and the counters of a State equal
// those of a plain re-computation written straight from the contract in doc.go, and
// encoding the state mid-stream and continuing from the decoded copy changes nothing.
//
// The oracle shares no code with the package: it reads the events' values from the
// generator's own model of each document (not through jsonpath), compares group and
// distinct values by a canonical text of its own, and recomputes each window's
// aggregate from the list of the values it kept. The only package function it uses is
// AppendValueKey, to name its groups as the state does when comparing; a key that put
// two equal values apart (or two different ones together) would still show as groups
// with other counts.
func TestOracle(t *testing.T) {
	cases := 2500
	if testing.Short() {
		cases = 400
	}
	// What the scenarios exercised, so that a generator that drifted into testing
	// nothing fails rather than passes.
	var total window.Stats
	fired := map[string]int{}
	var openAtEnd, resolved int
	for seed := range uint64(cases) {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		sc := genScenario(rng)
		r, err := rule.ParseRule([]byte(sc.ruleJSON))
		if err != nil {
			t.Fatalf("seed %d: rule %s: %v", seed, sc.ruleJSON, err)
		}
		want, msg := checkScenario(t, r, sc, rng)
		if msg != "" {
			t.Fatalf("seed %d: rule %s, limits %+v\n%s\nevents:\n%s", seed, sc.ruleJSON, sc.lim, msg, sc.describe())
		}
		total.Late += want.stats.Late
		total.TimeErrors += want.stats.TimeErrors
		total.GroupsDropped += want.stats.GroupsDropped
		total.DistinctDropped += want.stats.DistinctDropped
		total.Overflows += want.stats.Overflows
		total.Suppressed += want.stats.Suppressed
		total.IncidentsDropped += want.stats.IncidentsDropped
		for _, c := range want.crossings {
			if c.Resolved {
				resolved++
			}
		}
		fired[sc.spec.fn+" "+sc.spec.op] += len(want.crossings)
		openAtEnd += len(want.windows)
	}
	if total.Late == 0 || total.TimeErrors == 0 || total.GroupsDropped == 0 || total.DistinctDropped == 0 || total.Overflows == 0 ||
		total.Suppressed == 0 || total.IncidentsDropped == 0 || resolved == 0 {
		t.Errorf("the scenarios never reached some case: %+v", total)
	}
	for _, fn := range []string{"count", "count_distinct", "sum", "min", "max", "avg"} {
		for _, op := range []string{">", ">=", "<", "<=", "=="} {
			if fired[fn+" "+op] == 0 {
				t.Errorf("no scenario of %s %s crossed", fn, op)
			}
		}
	}
	if openAtEnd == 0 {
		t.Error("no scenario ended with open windows")
	}
	t.Logf("suppressed %d, resolved %d, incidents dropped %d", total.Suppressed, resolved, total.IncidentsDropped)
}

// scenario is one generated rule and event stream.
type scenario struct {
	ruleJSON string
	lim      window.Limits
	spec     ruleSpec
	events   []genEvent
}

// ruleSpec is the rule as the oracle reads it.
type ruleSpec struct {
	fn          string
	aggPath     string // "$.v" or "$.vs[*]"
	groupBy     []string
	windowed    bool
	size, every int64 // ms
	timePath    bool  // "$.t", else the record timestamp
	lateness    int64 // ms
	op          string
	value       float64
	maxGroups   int64 // in force: evaluator's, overridden by the rule's
	maxDistinct int64
	// The alert lifecycle (windowed only): suppress in ms (the window's size unless the
	// rule says) and resolve.
	suppress int64
	resolve  bool
}

// genEvent is one event: its customer, record timestamp and document text, and the
// generator's model of that document.
type genEvent struct {
	cust string
	rec  int64
	doc  string
	// model is the document as JSON data: nil, bool, float64, inf, string, []any,
	// map[string]any. Its "t" member is not modelled: t and tOK are its meaning.
	model map[string]any
	t     int64
	tOK   bool
}

// inf models a JSON number beyond float64's range (its sign).
type inf int

func (sc *scenario) describe() string {
	var b strings.Builder
	for i, e := range sc.events {
		fmt.Fprintf(&b, "  %3d %s rec=%d %s\n", i, e.cust, e.rec, e.doc)
	}
	return b.String()
}

func genScenario(rng *rand.Rand) *scenario {
	sp := ruleSpec{}
	fns := []string{"count", "count_distinct", "sum", "min", "max", "avg"}
	sp.fn = fns[rng.IntN(len(fns))]
	fields := []string{}
	if sp.fn == "count" {
		fields = append(fields, `"aggregate":{"fn":"count"}`)
	} else {
		sp.aggPath = "$.v"
		if rng.IntN(4) == 0 {
			sp.aggPath = "$.vs[*]"
		}
		fields = append(fields, fmt.Sprintf(`"aggregate":{"fn":%q,"path":%q}`, sp.fn, sp.aggPath))
	}
	groupPaths := []string{"$.g", "$.h", "$.n.k"}
	rng.Shuffle(len(groupPaths), func(i, j int) { groupPaths[i], groupPaths[j] = groupPaths[j], groupPaths[i] })
	sp.groupBy = groupPaths[:rng.IntN(3)]
	if len(sp.groupBy) > 0 {
		b, _ := json.Marshal(sp.groupBy)
		fields = append(fields, `"group_by":`+string(b))
	}
	if rng.IntN(5) != 0 {
		sp.windowed = true
		everies := []int64{250, 500, 1000, 2000, 5000}
		sp.every = everies[rng.IntN(len(everies))]
		sp.size = sp.every * int64(1+rng.IntN(4))
		if sp.size == sp.every && rng.IntN(2) == 0 {
			fields = append(fields, fmt.Sprintf(`"window":{"size":"%dms"}`, sp.size))
		} else {
			fields = append(fields, fmt.Sprintf(`"window":{"size":"%dms","every":"%dms"}`, sp.size, sp.every))
		}
		if rng.IntN(2) == 0 {
			sp.timePath = true
			fields = append(fields, `"time":"$.t"`)
		}
		latenesses := []int64{0, 0, 300, 1000, 2500, 3600_000}
		if sp.lateness = latenesses[rng.IntN(len(latenesses))]; sp.lateness > 0 {
			fields = append(fields, fmt.Sprintf(`"lateness":"%dms"`, sp.lateness))
		}
		var alert []string
		switch sp.suppress = sp.size; rng.IntN(4) {
		case 0:
			sp.suppress = 0
			alert = append(alert, `"suppress":"0s"`)
		case 1:
			sp.suppress = int64(250 * rng.IntN(40))
			alert = append(alert, fmt.Sprintf(`"suppress":"%dms"`, sp.suppress))
		}
		if rng.IntN(2) == 0 {
			sp.resolve = true
			alert = append(alert, `"resolve":true`)
		}
		if len(alert) > 0 {
			fields = append(fields, `"alert":{`+strings.Join(alert, ",")+`}`)
		}
	}
	ops := []string{">", ">=", "<", "<=", "=="}
	sp.op = ops[rng.IntN(len(ops))]
	switch sp.fn {
	case "count":
		sp.value = float64(1 + rng.IntN(5))
	case "count_distinct":
		sp.value = float64(1 + rng.IntN(4))
	case "sum":
		sp.value = float64(rng.IntN(17) - 4)
	case "avg":
		sp.value = float64(rng.IntN(15)-4) / 2
	default:
		sp.value = float64(rng.IntN(10) - 3)
	}
	fields = append(fields, fmt.Sprintf(`"threshold":{"op":%q,"value":%s}`, sp.op, strconv.FormatFloat(sp.value, 'g', -1, 64)))

	// Limits: the evaluator's, sometimes small, and sometimes the rule's own.
	var lim window.Limits
	if rng.IntN(3) == 0 {
		lim.MaxGroups = int64(1 + rng.IntN(8))
	}
	if rng.IntN(3) == 0 {
		lim.MaxDistinct = int64(1 + rng.IntN(4))
	}
	var rl []string
	if rng.IntN(4) == 0 {
		rl = append(rl, fmt.Sprintf(`"max_groups":%d`, 1+rng.IntN(6)))
	}
	if sp.fn == "count_distinct" && rng.IntN(4) == 0 {
		rl = append(rl, fmt.Sprintf(`"max_distinct":%d`, 1+rng.IntN(3)))
	}
	if len(rl) > 0 {
		fields = append(fields, `"limits":{`+strings.Join(rl, ",")+`}`)
	}
	sp.maxGroups, sp.maxDistinct = 100_000, 10_000
	if lim.MaxGroups > 0 {
		sp.maxGroups = lim.MaxGroups
	}
	if lim.MaxDistinct > 0 {
		sp.maxDistinct = lim.MaxDistinct
	}
	for _, f := range rl {
		name, v, _ := strings.Cut(f, ":")
		n, _ := strconv.ParseInt(v, 10, 64)
		if name == `"max_groups"` {
			sp.maxGroups = n
		} else {
			sp.maxDistinct = n
		}
	}

	sc := &scenario{lim: lim, spec: sp}
	sc.ruleJSON = `{"id":"r","scope":"*","when":{"path":"$","op":"exists"},` + strings.Join(fields, ",") + `}`
	n := 20 + rng.IntN(180)
	cur := int64(rng.IntN(60001) - 30000) // either side of the epoch
	var last int64
	for i := range n {
		// Time moves forward by steps, now and then jumps, and often looks back
		// (out of order, late) or repeats.
		switch k := rng.IntN(20); {
		case k == 0:
			cur += int64(rng.IntN(20000))
		case k < 12:
			cur += int64(rng.IntN(700))
		}
		at := cur
		switch k := rng.IntN(10); {
		case k < 3:
			at -= int64(rng.IntN(4000))
		case k == 3 && i > 0:
			at = last
		}
		if rng.IntN(3) == 0 {
			// On a boundary of every window size, so that events fall on window starts
			// and the watermark on window ends.
			at -= ((at % 250) + 250) % 250
		}
		last = at
		sc.events = append(sc.events, genEventAt(rng, sp, at))
	}
	return sc
}

// genEventAt makes an event whose intended time is at (record timestamp, and the time
// field's value when it has a usable one).
func genEventAt(rng *rand.Rand, sp ruleSpec, at int64) genEvent {
	custs := []string{"c1", "c2", "c3"}
	e := genEvent{cust: custs[rng.IntN(len(custs))], rec: at, model: map[string]any{}}
	var members []string
	add := func(name string, v any) {
		e.model[name] = v
		members = append(members, strconv.Quote(name)+":"+render(rng, v))
	}
	for _, name := range []string{"g", "h"} {
		if rng.IntN(6) != 0 {
			add(name, genGroupValue(rng))
		}
	}
	switch rng.IntN(4) {
	case 0: // no n: $.n.k selects nothing
	case 1:
		add("n", float64(5)) // not an object: $.n.k selects nothing
	default:
		add("n", map[string]any{"k": genGroupValue(rng)})
	}
	if rng.IntN(8) != 0 {
		add("v", genAggValue(rng))
	}
	if rng.IntN(3) == 0 {
		var vs []any
		for range rng.IntN(4) {
			vs = append(vs, genAggValue(rng))
		}
		add("vs", vs)
	}

	// The time field, under the time path; without one the record timestamp is the
	// event's time whatever t says.
	e.t, e.tOK = at, true
	var tText string
	switch k := rng.IntN(20); {
	case k < 7:
		tText = strconv.FormatInt(at, 10)
	case k < 9:
		tText = strconv.FormatFloat(float64(at)+0.25, 'f', -1, 64) // floored to at
	case k < 10:
		tText = strconv.FormatFloat(float64(at), 'e', -1, 64)
	case k < 16:
		zone := time.UTC
		if rng.IntN(2) == 0 {
			zone = time.FixedZone("", -(5*3600 + 1800))
		}
		sub := time.Duration(rng.IntN(1000)) * time.Microsecond // below a ms: floored away
		tText = strconv.Quote(time.UnixMilli(at).Add(sub).In(zone).Format(time.RFC3339Nano))
	case k < 17:
		e.tOK = false // missing
	default:
		e.tOK = false
		bad := []string{`"soon"`, `null`, `true`, `9e15`, `"2024-01-01"`, `[1000]`}
		tText = bad[rng.IntN(len(bad))]
	}
	if tText != "" {
		members = append(members, `"t":`+tText)
	}
	if !sp.timePath {
		e.t, e.tOK = at, true
	}
	rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	e.doc = "{" + strings.Join(members, ",") + "}"
	return e
}

func genGroupValue(rng *rand.Rand) any {
	switch rng.IntN(14) {
	case 0, 1, 2:
		return "a"
	case 3, 4:
		return "b"
	case 5, 6:
		return float64(1)
	case 7:
		return float64(2)
	case 8:
		return float64(0)
	case 9:
		return nil
	case 10:
		return true
	case 11:
		return map[string]any{"x": float64(1), "y": []any{float64(1), "a"}}
	case 12:
		return []any{float64(1), "a"}
	default:
		if rng.IntN(3) == 0 {
			return inf(1 - 2*rng.IntN(2))
		}
		return ""
	}
}

func genAggValue(rng *rand.Rand) any {
	switch k := rng.IntN(40); {
	case k < 22:
		return float64(rng.IntN(10) - 3)
	case k < 25:
		return float64(rng.IntN(10)-3) + 0.5
	case k < 26:
		return 1e308
	case k < 27:
		return -1e308
	case k < 28:
		return inf(1 - 2*rng.IntN(2))
	case k < 31:
		return strconv.Itoa(rng.IntN(3))
	case k < 33:
		return nil
	case k < 34:
		return false
	case k < 36:
		return map[string]any{"a": float64(rng.IntN(2))}
	default:
		return []any{float64(rng.IntN(2))}
	}
}

// render writes v as JSON text in one of its many spellings: numbers in several
// forms, strings with escapes, members in any order and repeated (the first counts).
func render(rng *rand.Rand, v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case inf:
		if v < 0 {
			return "-1e400"
		}
		return "1e400"
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			i := int64(v)
			switch rng.IntN(5) {
			case 0:
				return strconv.FormatInt(i, 10) + ".0"
			case 1:
				return strconv.FormatInt(i, 10) + "e0"
			case 2:
				if i != 0 { // 00E-1 is not JSON
					return strconv.FormatInt(i, 10) + "0E-1"
				}
			case 3:
				if i == 0 {
					return "-0"
				}
			}
			return strconv.FormatInt(i, 10)
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		b, _ := json.Marshal(v)
		s := string(b)
		if strings.HasPrefix(s, `"a`) && rng.IntN(2) == 0 {
			s = `"\u0061` + s[2:]
		}
		return s
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = render(rng, e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		var parts []string
		for name, e := range v {
			parts = append(parts, strconv.Quote(name)+":"+render(rng, e))
		}
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		if len(v) > 0 && rng.IntN(3) == 0 {
			// A repeated member after the first: the first one is the value.
			parts = append(parts, parts[0][:strings.IndexByte(parts[0], ':')]+`:"again"`)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	panic(fmt.Sprintf("render %T", v))
}

// canon is v's canonical JSON text: numbers by value (-0 as 0), members sorted. Two
// values are equal JSON values exactly when their canon texts are equal.
func canon(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case inf:
		if v < 0 {
			return "-1e400"
		}
		return "1e400"
	case float64:
		if v == 0 {
			v = 0
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		b, _ := json.Marshal(v)
		return string(b)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = canon(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		names := make([]string, 0, len(v))
		for name := range v {
			names = append(names, name)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, name := range names {
			b, _ := json.Marshal(name)
			parts[i] = string(b) + ":" + canon(v[name])
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	panic(fmt.Sprintf("canon %T", v))
}

// selectPath is what one of the generator's paths selects in a model.
func selectPath(m map[string]any, path string) []any {
	switch path {
	case "$.g", "$.h", "$.v":
		if v, ok := m[path[2:]]; ok {
			return []any{v}
		}
	case "$.n.k":
		if n, ok := m["n"].(map[string]any); ok {
			if v, ok := n["k"]; ok {
				return []any{v}
			}
		}
	case "$.vs[*]":
		vs, _ := m["vs"].([]any)
		return vs
	default:
		panic(path)
	}
	return nil
}

// oWindow is one of the oracle's open windows: the values it kept, in order.
type oWindow struct {
	cust, group string // group: the canon of each group value, joined
	key         string // the group's canonical key, as the state names it
	start       int64
	n           int64
	nums        []float64
	distinct    map[string]bool
	fired       bool
}

// oracleResult is what the oracle computed.
type oracleResult struct {
	// eventTime is the time of the event being added.
	eventTime int64
	crossings []crossing
	// samples are each crossing's sample offsets (the events' indexes), as text.
	samples []string
	windows []win
	stats   window.Stats
	groups  int
}

// runOracle recomputes, from the contract alone, what a State of sp gives for events.
func runOracle(sp ruleSpec, events []genEvent) oracleResult {
	var res oracleResult
	type wid struct {
		cust, group string
		start       int64
	}
	open := map[wid]*oWindow{}
	groupWindows := map[[2]string]int{} // open windows per (customer, group)
	seen, maxT := false, int64(0)
	// The lifecycle: open incidents by group id (the state's: customer length,
	// customer, group key), which also orders incidents closing together.
	type incident struct {
		closes, start, end, count int64
		value                     float64
	}
	incidents := map[string]*incident{}
	lifecycle := sp.windowed && (sp.suppress > 0 || sp.resolve)
	groupID := func(cust, key string) string {
		return string(binary.AppendUvarint(nil, uint64(len(cust)))) + cust + key
	}
	// Each group's two latest contributions (index, time), newest first, for samples.
	type contribution struct{ index, t int64 }
	recent := map[[2]string][]contribution{}
	var samples string // the crossing being raised's
	emit := func(c crossing) {
		res.crossings = append(res.crossings, c)
		if c.Resolved {
			res.samples = append(res.samples, "")
		} else {
			res.samples = append(res.samples, samples)
		}
	}
	raise := func(c crossing, id string) {
		if !lifecycle {
			emit(c)
			return
		}
		if in := incidents[id]; in != nil {
			res.stats.Suppressed++
			if sp.resolve {
				in.closes = max(in.closes, c.End)
			}
			return
		}
		if int64(len(incidents)) >= sp.maxGroups {
			res.stats.IncidentsDropped++
			emit(c)
			return
		}
		in := &incident{closes: res.eventTime + sp.suppress, start: c.Start, end: c.End, count: c.Count, value: c.Value}
		if sp.resolve {
			in.closes = max(in.closes, c.End)
		}
		incidents[id] = in
		emit(c)
	}
	closeIncidents := func(wm int64) {
		var ids []string
		for id, in := range incidents {
			if in.closes <= wm {
				ids = append(ids, id)
			}
		}
		slices.SortFunc(ids, func(a, b string) int {
			if c := cmp.Compare(incidents[a].closes, incidents[b].closes); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		for _, id := range ids {
			in := incidents[id]
			delete(incidents, id)
			if sp.resolve {
				n, w := binary.Uvarint([]byte(id))
				cust := id[w : w+int(n)]
				emit(crossing{Customer: cust, Group: id[w+int(n):], Windowed: true,
					Start: in.start, End: in.end, Count: in.count, Value: in.value, Resolved: true})
			}
		}
	}

	value := func(w *oWindow) float64 {
		switch sp.fn {
		case "count":
			return float64(w.n)
		case "count_distinct":
			return float64(len(w.distinct))
		}
		acc := w.nums[0]
		for _, x := range w.nums[1:] {
			switch sp.fn {
			case "sum", "avg":
				acc += x
			case "min":
				acc = min(acc, x)
			case "max":
				acc = max(acc, x)
			}
		}
		if sp.fn == "avg" {
			acc /= float64(len(w.nums))
		}
		return acc
	}
	holds := func(v float64) bool {
		switch sp.op {
		case ">":
			return v > sp.value
		case ">=":
			return v >= sp.value
		case "<":
			return v < sp.value
		case "<=":
			return v <= sp.value
		}
		return v == sp.value
	}

	for index, e := range events {
		// A running total has no event time: nothing is late or without a time.
		if sp.windowed && !e.tOK {
			res.stats.TimeErrors++
			continue
		}
		if sp.windowed && seen && e.t < maxT-sp.lateness {
			res.stats.Late++
			continue
		}
		if lifecycle {
			wm := e.t
			if seen {
				wm = max(wm, maxT)
			}
			closeIncidents(wm - sp.lateness)
		}
		res.eventTime = e.t
		// What the event contributes, if anything.
		contributes := true
		var num float64
		var distinct string
		switch sp.fn {
		case "count":
		case "count_distinct":
			sel := selectPath(e.model, sp.aggPath)
			contributes = len(sel) > 0
			if contributes {
				distinct = canon(sel[0])
			}
		default:
			contributes = false
			for _, v := range selectPath(e.model, sp.aggPath) {
				if f, ok := v.(float64); ok {
					num, contributes = f, true
					break
				}
			}
		}
		if contributes {
			var groupParts, keyParts []string
			for _, p := range sp.groupBy {
				var v any // nothing selected: null
				if sel := selectPath(e.model, p); len(sel) > 0 {
					v = sel[0]
				}
				groupParts = append(groupParts, canon(v))
				keyParts = append(keyParts, gk(canon(v)))
			}
			group := strings.Join(groupParts, "|")
			gid := [2]string{e.cust, group}
			if groupWindows[gid] == 0 && int64(len(groupWindows)) >= sp.maxGroups {
				res.stats.GroupsDropped++
			} else {
				// The windows containing e.t, in start order.
				var starts []int64
				if sp.windowed {
					first := e.t - ((e.t%sp.every)+sp.every)%sp.every // the latest start at or before t
					for s := first; s+sp.size > e.t; s -= sp.every {
						starts = append(starts, s)
					}
					slices.Reverse(starts)
				} else {
					starts = []int64{0}
				}
				for _, s := range starts {
					id := wid{e.cust, group, s}
					w := open[id]
					if w == nil {
						w = &oWindow{cust: e.cust, group: group, key: strings.Join(keyParts, ""), start: s, distinct: map[string]bool{}}
						open[id] = w
						groupWindows[gid]++
					}
					switch sp.fn {
					case "count_distinct":
						if !w.distinct[distinct] {
							if int64(len(w.distinct)) >= sp.maxDistinct {
								res.stats.DistinctDropped++
							} else {
								w.distinct[distinct] = true
							}
						}
					case "sum", "avg":
						// The sum so far, recomputed in event order as a running sum adds.
						sum := 0.0
						for _, x := range w.nums {
							sum += x
						}
						if math.IsInf(sum+num, 0) {
							res.stats.Overflows++
							continue
						}
						w.nums = append(w.nums, num)
					case "min", "max":
						w.nums = append(w.nums, num)
					}
					w.n++
					if v := value(w); !w.fired && holds(v) {
						w.fired = true
						c := crossing{Customer: e.cust, Group: w.key, Count: w.n, Value: v}
						if sp.windowed {
							c.Windowed, c.Start, c.End = true, s, s+sp.size
						}
						samples = fmt.Sprint(index)
						for _, p := range recent[gid] {
							if !sp.windowed || p.t >= c.Start && p.t < c.End {
								samples += fmt.Sprint(" ", p.index)
							}
						}
						raise(c, groupID(e.cust, w.key))
					}
				}
				r := append([]contribution{{int64(index), e.t}}, recent[gid]...)
				recent[gid] = r[:min(len(r), 2)]
			}
		}
		if sp.windowed && (!seen || e.t > maxT) {
			seen, maxT = true, e.t
			for id, w := range open {
				if sp.windowed && w.start+sp.size <= maxT-sp.lateness {
					delete(open, id)
					gid := [2]string{id.cust, id.group}
					if groupWindows[gid]--; groupWindows[gid] == 0 {
						delete(groupWindows, gid)
						delete(recent, gid) // the group goes, and what it remembered
					}
				}
			}
		}
	}
	for _, w := range open {
		ow := win{Customer: w.cust, Group: w.key, Start: w.start, Count: w.n, Value: value(w), HasValue: true, Fired: w.fired}
		if sp.windowed {
			ow.End = w.start + sp.size
		}
		res.windows = append(res.windows, ow)
	}
	sortWindows(res.windows)
	res.groups = len(groupWindows)
	return res
}

func sortWindows(ws []win) {
	slices.SortFunc(ws, func(a, b win) int {
		if c := strings.Compare(a.Customer, b.Customer); c != 0 {
			return c
		}
		if c := strings.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return int(a.Start - b.Start) // small values: no overflow
	})
}

// stateRun is what a State gave.
type stateRun struct {
	crossings []crossing
	samples   []string
	windows   []win
	stats     window.Stats
	degraded  string
	groups    int
	cells     int
}

// runState feeds events to a new state of r; at cut (0 < cut < len(events)) it encodes
// the state, decodes it and goes on with the copy, as a restart from a snapshot does.
// With shared, each event goes first to another state of r and then to the state with
// the values the other evaluated (window.Shared), as the live evaluator shares them
// between rules.
func runState(tb testing.TB, r *rule.Rule, lim window.Limits, events []genEvent, cut int, shared bool) (stateRun, error) {
	st := window.New(r, lim)
	doc := jsonpath.NewDocument()
	var sh *window.Shared
	var other *window.State
	if shared {
		sh, other = &window.Shared{}, window.New(r, lim)
	}
	var out stateRun
	for i, e := range events {
		if i == cut && cut > 0 {
			enc := st.AppendTo([]byte("prefix"))[len("prefix"):]
			if again := st.AppendTo(nil); string(again) != string(enc) {
				return out, fmt.Errorf("two encodings of one state differ")
			}
			dec, rest, err := window.Decode(r, lim, append(enc, "tail"...))
			if err != nil {
				return out, fmt.Errorf("decode at event %d: %v", i, err)
			}
			if string(rest) != "tail" {
				return out, fmt.Errorf("decode at event %d left %q, want the bytes after the state", i, rest)
			}
			if re := dec.AppendTo(nil); string(re) != string(enc) {
				return out, fmt.Errorf("the decoded state at event %d encodes differently", i)
			}
			st = dec
		}
		if err := doc.Reset([]byte(e.doc)); err != nil {
			tb.Fatalf("event %d: %v", i, err)
		}
		if sh != nil {
			sh.Reset()
			other.Add(&window.Event{Customer: e.cust, Doc: doc, Time: time.UnixMilli(e.rec), Shared: sh}, func(window.Crossing) {})
		}
		st.Add(&window.Event{Customer: e.cust, Doc: doc, Time: time.UnixMilli(e.rec), Shared: sh, Offset: int64(i)}, func(c window.Crossing) {
			out.crossings = append(out.crossings, fromCrossing(c))
			out.samples = append(out.samples, strings.Trim(fmt.Sprint(c.Samples), "[]"))
			// Every crossing must make a valid alert record.
			a, err := window.Alert(r, c, 1, int64(i), time.UnixMilli(e.rec), contract.SourceLive)
			if err != nil {
				tb.Errorf("event %d: alert of %v: %v", i, fromCrossing(c), err)
			} else if b := a.AppendJSON(nil); !json.Valid(b) {
				tb.Errorf("event %d: alert record is not JSON: %s", i, b)
			}
		})
	}
	out.windows = openWindows(st, "")
	// EachWindow lists the same windows, unsorted.
	var each []win
	st.EachWindow(func(w *window.Window) {
		each = append(each, win{w.Customer, string(w.Group), w.Start, w.End, w.Count, w.Value, w.HasValue, w.Fired})
	})
	sortWindows(out.windows)
	sortWindows(each)
	if !slices.Equal(each, out.windows) {
		return out, fmt.Errorf("EachWindow lists\n%+v\nWindows\n%+v", each, out.windows)
	}
	out.stats, out.degraded = st.Stats(), st.Degraded()
	out.groups, out.cells = st.GroupCount(), st.WindowCount()
	return out, nil
}

// checkScenario compares the state (straight and restarted) with the oracle and returns
// what differs ("" if nothing).
func checkScenario(tb testing.TB, r *rule.Rule, sc *scenario, rng *rand.Rand) (oracleResult, string) {
	want := runOracle(sc.spec, sc.events)
	got, err := runState(tb, r, sc.lim, sc.events, 0, false)
	if err != nil {
		return want, err.Error()
	}
	if msg := diffRuns("state", got, want); msg != "" {
		return want, msg
	}
	// The same stream through a snapshot and restart at a random event, with values
	// shared with another state.
	cut := 1 + rng.IntN(len(sc.events)-1)
	restarted, err := runState(tb, r, sc.lim, sc.events, cut, true)
	if err != nil {
		return want, err.Error()
	}
	if msg := diffRuns(fmt.Sprintf("state restarted at event %d", cut), restarted, want); msg != "" {
		return want, msg
	}
	if restarted.degraded != got.degraded {
		return want, fmt.Sprintf("restarted state Degraded %q, straight %q", restarted.degraded, got.degraded)
	}
	return want, ""
}

func diffRuns(what string, got stateRun, want oracleResult) string {
	var b strings.Builder
	if !slices.Equal(got.crossings, want.crossings) {
		fmt.Fprintf(&b, "%s crossings:\n", what)
		for i := range max(len(got.crossings), len(want.crossings)) {
			var g, w string
			if i < len(got.crossings) {
				g = got.crossings[i].String()
			}
			if i < len(want.crossings) {
				w = want.crossings[i].String()
			}
			mark := "  "
			if g != w {
				mark = "!="
			}
			fmt.Fprintf(&b, "  %s got %-60s want %s\n", mark, g, w)
		}
	}
	if slices.Equal(got.crossings, want.crossings) && !slices.Equal(got.samples, want.samples) {
		fmt.Fprintf(&b, "%s samples:\n  got  %q\n  want %q\n", what, got.samples, want.samples)
	}
	if !slices.Equal(got.windows, want.windows) {
		fmt.Fprintf(&b, "%s open windows:\n  got  %+v\n  want %+v\n", what, got.windows, want.windows)
	}
	if got.stats != want.stats {
		fmt.Fprintf(&b, "%s stats %+v, want %+v\n", what, got.stats, want.stats)
	}
	degraded := want.stats.GroupsDropped+want.stats.DistinctDropped+want.stats.Overflows+want.stats.IncidentsDropped > 0
	if (got.degraded != "") != degraded {
		fmt.Fprintf(&b, "%s Degraded %q with stats %+v\n", what, got.degraded, want.stats)
	}
	if got.groups != want.groups || got.cells != len(want.windows) {
		fmt.Fprintf(&b, "%s GroupCount %d WindowCount %d, want %d and %d\n", what, got.groups, got.cells, want.groups, len(want.windows))
	}
	return b.String()
}
