package rule

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Destination types: where a destination's requests go and in which format.
const (
	DestWebhook   = "webhook"   // the alert record as JSON
	DestSlack     = "slack"     // a Slack incoming-webhook message
	DestPagerDuty = "pagerduty" // a PagerDuty Events API v2 event
)

// DestinationTypes are the destination types, in the order errors list them.
var DestinationTypes = []string{DestWebhook, DestSlack, DestPagerDuty}

// Destination is where alerts are delivered, as a destination control carries it. A
// rule's alert.notify names destinations; for an alert of customer C the name N is C's
// destination N if there is one, else the global (scope *) destination N, so that a
// customer's destination only ever receives that customer's alerts.
type Destination struct {
	Scope       string `json:"scope"`
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	// URL is where requests go; URLFrom names where to read it instead (a Slack
	// webhook's URL is itself a secret). Exactly one is set.
	URL     string     `json:"url,omitempty"`
	URLFrom *SecretRef `json:"url_from,omitempty"`
	// Secret names the signing key (webhook, slack) or routing key (pagerduty, where it
	// is required). Secrets never travel on the controls topic: only where to read them.
	Secret *SecretRef `json:"secret,omitempty"`
}

// SecretRef names an environment variable or a file (exactly one) of the notifying
// process that holds a secret.
type SecretRef struct {
	Env  string `json:"env,omitempty"`
	File string `json:"file,omitempty"`
}

func (s *SecretRef) String() string {
	if s.Env != "" {
		return "env " + s.Env
	}
	return "file " + s.File
}

// Mute stops notifications for the alerts it matches, while they are still counted and
// recorded (with muted true): those of its scope's customer (every customer for *) and
// of its rule id (every rule for *), until Until (zero: until deleted).
//
// Decoded, an until of 0001-01-01T00:00:00Z is Go's zero time, which Until cannot
// tell from none: the decoders of control records and files (ParseControl,
// ParseNotifyFile) refuse it, as a time past, rather than read it as no end.
// ParseControl holds Until in UTC, whatever offset it was written with, as a mute's
// Keeper writes it, so that the two compare equal (controls folds an upsert of what a
// key holds as no change).
type Mute struct {
	Scope  string    `json:"scope"`
	ID     string    `json:"id"`
	Rule   string    `json:"rule"`
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"`
}

// Matches reports whether the mute covers an alert of rule id ruleID for customer at
// time now.
func (m *Mute) Matches(ruleID, customer string, now time.Time) bool {
	return (m.Scope == GlobalScope || m.Scope == customer) && (m.Rule == GlobalScope || m.Rule == ruleID) && m.InForce(now)
}

// InForce reports whether the mute mutes at t: it has no end, or ends after t.
func (m *Mute) InForce(t time.Time) bool { return m.Until.IsZero() || t.Before(m.Until) }

// TakesRoom reports whether m, written at t over old (what its key held; nil: nothing),
// adds a mute in force at t, which max_mutes bounds: it is in force then, and old was
// not.
func (m *Mute) TakesRoom(old *Mute, t time.Time) bool {
	return m.InForce(t) && (old == nil || !old.InForce(t))
}

// MutesInForce is how many of ms are in force at t.
func MutesInForce(ms map[Key]*Mute, t time.Time) int {
	n := 0
	for _, m := range ms {
		if m.InForce(t) {
			n++
		}
	}
	return n
}

// MuteUntil is the end of a mute that lasts d from now: in whole seconds, as a mute's
// until is written, rounded up, since rounded down a mute shorter than a second would
// end before it was published (and every mute end early).
func MuteUntil(now time.Time, d time.Duration) time.Time {
	// Added apart: d + a second overflows for the longest durations (a mute "for"
	// 2562047h would end in the past).
	return now.Add(d).Add(time.Second - 1).UTC().Truncate(time.Second)
}

// Control kinds: what a control record is about. A rule's kind is empty.
const (
	KindRule        = ""
	KindDestination = "destination"
	KindMute        = "mute"
)

// recordKeyPrefix is how a destination's or mute's record key starts: "destination:"
// or "mute:", then SCOPE/NAME. A rule's scope may not start so (validate), so no rule's
// key is ever another kind's.
func recordKeyPrefix(kind string) string { return kind + ":" }

// SplitRecordKey parses a controls record key into its kind and SCOPE/ID key.
func SplitRecordKey(s string) (kind string, k Key, err error) {
	for _, kd := range []string{KindDestination, KindMute} {
		if rest, ok := strings.CutPrefix(s, recordKeyPrefix(kd)); ok {
			k, err = ParseKey(rest)
			return kd, k, err
		}
	}
	k, err = ParseKey(s)
	return KindRule, k, err
}

// RecordKey is the controls record key of the control: SCOPE/ID for a rule,
// destination:SCOPE/NAME and mute:SCOPE/ID for the others.
func (c *Control) RecordKey() string {
	if c.Kind() == KindRule {
		return c.Key().String()
	}
	return recordKeyPrefix(c.Kind()) + c.Key().String()
}

// Kind is what the control is about.
func (c *Control) Kind() string {
	switch {
	case c.Destination != nil:
		return KindDestination
	case c.Mute != nil:
		return KindMute
	}
	return c.Of
}

// UpsertDestination returns the control that defines d.
func UpsertDestination(d *Destination) *Control { return &Control{Op: OpUpsert, Destination: d} }

// UpsertMute returns the control that puts m in force.
func UpsertMute(m *Mute) *Control { return &Control{Op: OpUpsert, Mute: m} }

// DeleteOf returns the control that removes the destination or mute (kind) k.
func DeleteOf(kind string, k Key) *Control {
	return &Control{Op: OpDelete, Of: kind, Scope: k.Scope, ID: k.ID}
}

// validScope bounds a destination's or mute's scope as a rule's: * or one customer id
// (ruleScopeProblem says why UTF-8).
func validScope(s string) bool {
	return s == GlobalScope || s != "" && len(s) <= 256 && !strings.ContainsAny(s, "*\n\r\t") && utf8.ValidString(s)
}

// Validate checks the destination; problems are positioned by field.
func (d *Destination) Validate() error {
	var errs ValidationError
	errs.Kind, errs.Rule = KindDestination, d.Name
	if !validScope(d.Scope) {
		errs.add("scope", 0, "is required: a customer id (valid UTF-8) or * (at most 256 bytes)")
	}
	if !idPattern.MatchString(d.Name) {
		errs.add("name", 0, fmt.Sprintf("%s: letters, digits, '.', '_', ':', '@', '-', starting with a letter or digit; at most 128", quoted(d.Name)))
	}
	if !slices.Contains(DestinationTypes, d.Type) {
		errs.add("type", 0, fmt.Sprintf("%s: want one of %s", quoted(d.Type), strings.Join(DestinationTypes, ", ")))
	}
	switch {
	case d.URL == "" && d.URLFrom == nil:
		errs.add("url", 0, "is required (or url_from, to read it from an environment variable or file)")
	case d.URL != "" && d.URLFrom != nil:
		errs.add("url", 0, "and url_from are exclusive")
	case d.URL != "":
		if msg := checkURLShape(d.URL); msg != "" {
			errs.add("url", 0, msg)
		}
	default:
		d.URLFrom.check("url_from", &errs)
	}
	if d.Secret != nil {
		d.Secret.check("secret", &errs)
	} else if d.Type == DestPagerDuty {
		errs.add("secret", 0, "is required for pagerduty: it names where the routing key is (env or file)")
	}
	if len(d.Description) > 1024 {
		errs.add("description", 0, "is longer than 1024 bytes")
	}
	if len(errs.Problems) > 0 {
		return &errs
	}
	return nil
}

func (s *SecretRef) check(field string, errs *ValidationError) {
	switch {
	case (s.Env == "") == (s.File == ""):
		errs.add(field, 0, "names exactly one of env or file")
	case s.Env != "" && strings.ContainsAny(s.Env, "=\x00"):
		errs.add(field+".env", 0, fmt.Sprintf("%s is not an environment variable name", quoted(s.Env)))
	case strings.ContainsRune(s.File, 0):
		errs.add(field+".file", 0, "is not a file name")
	}
}

// checkURLShape checks what a URL is made of; which addresses it may reach is the
// notifying process's decision (notify.CheckURL), as it depends on its flags.
func checkURLShape(raw string) string {
	u, err := url.Parse(raw)
	var ue *url.Error
	switch {
	case errors.As(err, &ue):
		// url.Error quotes the URL, and a webhook's URL is its secret: only what is
		// wrong with it.
		return ue.Err.Error()
	case err != nil:
		return err.Error()
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("scheme %q: want http or https", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return "has no host"
	case u.User != nil:
		return "must not carry a user or password (use secret)"
	case !PortInRange(u.Port()):
		return fmt.Sprintf("port %s: want a number from 1 to 65535", u.Port())
	case len(raw) > 2048:
		return "is longer than 2048 bytes"
	}
	return ""
}

// Validate checks the mute; problems are positioned by field.
func (m *Mute) Validate() error { return m.validate(false) }

// zeroUntilProblem is why a mute whose until was given as 0001-01-01T00:00:00Z (Go's
// zero time) is refused: decoded, it reads as no until, a mute for ever.
const zeroUntilProblem = "0001-01-01T00:00:00Z is past: a mute that ended mutes nothing; leave until out for a mute until deleted"

// validate checks the mute as Validate does; untilGiven says that its JSON gave until
// a value (muteUntilGiven), which is then not the zero time.
func (m *Mute) validate(untilGiven bool) error {
	var errs ValidationError
	errs.Kind, errs.Rule = KindMute, m.ID
	if !validScope(m.Scope) {
		errs.add("scope", 0, "is required: a customer id (valid UTF-8) or * (at most 256 bytes)")
	}
	if !idPattern.MatchString(m.ID) {
		errs.add("id", 0, fmt.Sprintf("%s: letters, digits, '.', '_', ':', '@', '-', starting with a letter or digit; at most 128", quoted(m.ID)))
	}
	if m.Rule != GlobalScope && !idPattern.MatchString(m.Rule) {
		errs.add("rule", 0, fmt.Sprintf("%s: a rule id, or * for every rule", quoted(m.Rule)))
	}
	switch {
	case untilGiven && m.Until.IsZero():
		errs.add("until", 0, zeroUntilProblem)
	case !InRFC3339Years(m.Until):
		// A control carries it as RFC 3339, in UTC as the CLI and console write it.
		errs.add("until", 0, fmt.Sprintf("%s is outside the years 0000 to 9999 in UTC, which RFC 3339 writes", m.Until.Format(time.RFC3339Nano)))
	}
	if len(m.Reason) > 1024 {
		errs.add("reason", 0, "is longer than 1024 bytes")
	}
	if len(m.By) > 256 {
		errs.add("by", 0, "is longer than 256 bytes")
	}
	if len(errs.Problems) > 0 {
		return &errs
	}
	return nil
}

// muteUntilGiven reports whether obj, a mute's JSON object, gives until a value (null
// gives none, as leaving it out does). Only "until" names it: the strict decoding that
// came first refuses the field in another case, and checkRuleText a key given twice.
func muteUntilGiven(obj []byte) bool {
	var m struct {
		Until json.RawMessage `json:"until"`
	}
	return json.Unmarshal(obj, &m) == nil && len(m.Until) > 0 && string(m.Until) != "null"
}

// InRFC3339Years reports whether t, in UTC, is in the years 0000 to 9999: those RFC
// 3339 (and so encoding/json, and every record's time) can write. time.Parse takes an
// offset that carries a time out of them (9999-12-31T23:30:00-01:00 is
// 10000-01-01T00:30:00Z).
func InRFC3339Years(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
}

// PortInRange reports whether a URL's port (url.URL.Port: "" for the scheme's own) is
// one a connection can be made to: url.Parse takes any digits, 99999 too, which every
// dial then refuses.
func PortInRange(port string) bool {
	if port == "" {
		return true
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}
