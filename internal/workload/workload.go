// Package workload generates seeded, realistic SaaS audit events for tests, benchmarks
// and the demo.
//
// Contract:
//   - Replayable: the same seed and config always yield the same events (New) and the
//     same rules (Rules), so a benchmark or a property test that fails can be replayed
//     exactly. Padding (Config.Size) adds a field and changes no other.
//   - An event is a JSON object of 300–800 bytes (unpadded) with nested objects and
//     arrays, shaped like the audit logs of a SaaS product: who did what to which
//     resource, from where, with which outcome. Its key is its customer (c-0000 …),
//     drawn from a skewed distribution (a few large tenants, a long tail), as in
//     production; event times advance by Config.Step from Config.Start.
//   - Next's JSON is the caller's; NextShared's is valid only until the next call. A
//     Generator belongs to one goroutine.
//   - Rules are valid rules over the generated events' fields, drawn from a fixed pool
//     of paths so that, as in production, many rules share paths.
package workload

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Config shapes a generator. The zero value is usable.
type Config struct {
	// Customers is the number of distinct customer ids (c-0000 …). Default 100.
	Customers int
	// Start is the event time of the first event. Default 2026-11-23T00:00:00Z.
	Start time.Time
	// Step is the event-time gap between consecutive events. Default 10ms.
	Step time.Duration
	// Size, when positive, pads every event that is shorter with a "note" field of
	// words up to Size bytes (events already longer are left as they are), for
	// benchmarks of larger documents. Default 0: the natural 300–800 bytes. Padding
	// adds the note only: every other field is that of the unpadded stream.
	Size int
}

// Event is one generated event: the Kafka key (customer), timestamp and JSON value.
type Event struct {
	Customer string
	Time     time.Time
	JSON     []byte
}

// Generator produces events. It is not safe for concurrent use.
type Generator struct {
	cfg  Config
	rng  *rand.Rand
	seq  uint64
	now  time.Time
	buf  []byte
	cust []string
	// padRng draws the padding, so that padded events carry the same fields as
	// the unpadded stream of the same seed.
	padRng *rand.Rand
}

// New returns a generator seeded with seed.
func New(seed uint64, cfg Config) *Generator {
	if cfg.Customers <= 0 {
		cfg.Customers = 100
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Step <= 0 {
		cfg.Step = 10 * time.Millisecond
	}
	g := &Generator{cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: cfg.Start,
		padRng: rand.New(rand.NewPCG(seed^0x5bd1e995, seed))}
	g.cust = make([]string, cfg.Customers)
	for i := range g.cust {
		g.cust[i] = CustomerID(i)
	}
	return g
}

// CustomerID is the id of the i-th customer.
func CustomerID(i int) string { return fmt.Sprintf("c-%04d", i) }

// EventTypes are the event types the generator emits, most frequent first.
var EventTypes = []string{
	"login.succeeded", "file.viewed", "file.downloaded", "login.failed", "file.shared",
	"user.created", "role.granted", "mfa.disabled", "api_key.created", "user.deleted",
	"policy.changed", "export.started",
}

var (
	roles     = []string{"member", "admin", "billing", "auditor", "owner", "guest"}
	countries = []string{"US", "DE", "GB", "FR", "IN", "BR", "JP", "NL", "CA", "AU"}
	cities    = []string{"Austin", "Berlin", "London", "Paris", "Pune", "Recife", "Osaka", "Utrecht", "Toronto", "Perth"}
	apps      = []string{"web", "ios", "android", "cli", "api"}
	targets   = []string{"user", "file", "folder", "group", "api_key", "policy"}
	signals   = []string{"new_device", "impossible_travel", "tor", "vpn", "password_spray", "unusual_hour"}
	tags      = []string{"sso", "mfa", "scim", "saml", "oauth", "legacy"}
	agents    = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
		"hindsight-cli/2.4.1 (linux; amd64)",
		"okhttp/4.12.0",
	}
)

// Next returns the next event. The returned JSON is freshly allocated.
func (g *Generator) Next() Event {
	ev := g.next()
	ev.JSON = append([]byte(nil), ev.JSON...)
	return ev
}

// NextShared is Next without the copy: the JSON is only valid until the next call.
func (g *Generator) NextShared() Event { return g.next() }

func (g *Generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// customer draws from a skewed distribution: a quarter of the traffic goes to the
// first 2% of customers.
func (g *Generator) customer() string {
	n := len(g.cust)
	if g.rng.IntN(4) == 0 {
		return g.cust[g.rng.IntN(max(1, n/50))]
	}
	return g.cust[g.rng.IntN(n)]
}

func (g *Generator) eventType() string {
	// Geometric-ish: earlier types are more frequent.
	i := 0
	for i < len(EventTypes)-1 && g.rng.IntN(3) != 0 {
		i++
	}
	return EventTypes[i]
}

func (g *Generator) next() Event {
	g.seq++
	g.now = g.now.Add(g.cfg.Step)
	cust := g.customer()
	typ := g.eventType()
	b := g.buf[:0]
	b = append(b, `{"id":"evt-`...)
	b = strconv.AppendUint(b, g.seq, 10)
	b = append(b, `","type":"`...)
	b = append(b, typ...)
	b = append(b, `","time":"`...)
	b = g.now.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","customer":"`...)
	b = append(b, cust...)
	b = append(b, `","actor":{"id":"u-`...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(5000)), 10)
	b = append(b, `","email":"user`...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(5000)), 10)
	b = append(b, `@example.com","roles":[`...)
	nr := 1 + g.rng.IntN(3)
	for i := range nr {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, g.pick(roles))
	}
	ci := g.rng.IntN(len(countries))
	b = append(b, `],"ip":"`...)
	b = fmt.Appendf(b, "%d.%d.%d.%d", 10+g.rng.IntN(200), g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254))
	b = append(b, `","geo":{"country":"`...)
	b = append(b, countries[ci]...)
	b = append(b, `","city":"`...)
	b = append(b, cities[ci]...)
	b = append(b, `"}},"target":{"type":"`...)
	b = append(b, g.pick(targets)...)
	b = append(b, `","id":"r-`...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(100000)), 10)
	b = append(b, `","name":"`...)
	b = append(b, g.pick([]string{"Q4 board deck.pdf", "payroll.xlsx", "eng-oncall", "Finance", "prod-deploy-key", "Default policy"})...)
	b = append(b, `"},"client":{"app":"`...)
	b = append(b, g.pick(apps)...)
	b = append(b, `","version":"`...)
	b = fmt.Appendf(b, "%d.%d.%d", 1+g.rng.IntN(6), g.rng.IntN(20), g.rng.IntN(10))
	b = append(b, `","user_agent":"`...)
	b = append(b, g.pick(agents)...)
	outcome := "success"
	if typ == "login.failed" || g.rng.IntN(10) == 0 {
		outcome = "failure"
	}
	b = append(b, `"},"outcome":"`...)
	b = append(b, outcome...)
	b = append(b, `","severity":`...)
	b = strconv.AppendInt(b, int64(1+g.rng.IntN(5)), 10)
	b = append(b, `,"risk":{"score":`...)
	b = strconv.AppendFloat(b, float64(g.rng.IntN(10000))/100, 'f', -1, 64)
	b = append(b, `,"signals":[`...)
	ns := g.rng.IntN(3)
	for i := range ns {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, g.pick(signals))
	}
	b = append(b, `]},"tags":[`...)
	nt := g.rng.IntN(4)
	for i := range nt {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, g.pick(tags))
	}
	b = append(b, `],"bytes":`...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(50_000_000)), 10)
	b = append(b, `,"session":{"id":"s-`...)
	b = strconv.AppendUint(b, g.rng.Uint64()>>20, 36)
	b = append(b, `","mfa":`...)
	b = strconv.AppendBool(b, g.rng.IntN(3) != 0)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(3_600_000)), 10)
	b = append(b, `}`...)
	b = g.pad(b)
	b = append(b, '}')
	g.buf = b
	return Event{Customer: cust, Time: g.now, JSON: b}
}

// noteWords fill the padding: prose, so that it compresses as real free text would.
var noteWords = []string{"the", "user", "requested", "access", "to", "shared", "folder", "after", "review",
	"by", "an", "administrator", "who", "approved", "it", "for", "quarterly", "audit", "of", "billing", "records"}

// pad appends, to an event lacking only its closing brace, a "note" field that brings
// it to cfg.Size bytes once closed.
func (g *Generator) pad(b []byte) []byte {
	const field = `,"note":""`
	want := g.cfg.Size - 1 // the closing brace
	if g.cfg.Size <= 0 || len(b)+len(field) > want {
		return b
	}
	b = append(b, `,"note":"`...)
	for first := true; len(b) < want-1; first = false {
		if !first {
			b = append(b, ' ')
		}
		b = append(b, noteWords[g.padRng.IntN(len(noteWords))]...)
	}
	b = b[:want-1] // the last word may overshoot
	return append(b, '"')
}
