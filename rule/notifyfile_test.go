package rule_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
)

// TestParseNotifyFile reads destinations and mutes files, good and bad: each problem
// names the list, entry, line and field.
func TestParseNotifyFile(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		dests      string // scope/name=type, space separated
		mutes      string // scope/id:rule
		err        string
	}{
		{name: "both lists, and a rules file's rules ignored", text: `
rules: [{id: x}]
destinations:
  - {scope: "*", name: secops, type: webhook, url: "https://hooks.example.com/h", secret: {env: SECOPS_KEY}}
  - {scope: c-1, name: pager, type: pagerduty, url: "https://events.pagerduty.com/v2/enqueue", secret: {file: /run/pd}}
mutes:
  - {scope: c-1, id: deploy, rule: "*", until: "2030-01-01T00:00:00Z", reason: deploy, by: ana}
`, dests: "*/secops=webhook c-1/pager=pagerduty", mutes: "c-1/deploy:*"},
		{name: "empty", text: "", dests: "", mutes: ""},
		{name: "bad entries", text: `
destinations:
  - {scope: "*", name: a, type: email, url: "https://x.example"}
  - {scope: "*", name: b, type: slack}
  - {scope: "*", name: c, type: webhook, url: "https://x.example", colour: red}
mutes:
  - {scope: "*", id: m, rule: "a/b"}
`, err: `f.yaml:3: destinations[0] ("a"): invalid destination "a": type: "email": want one of webhook, slack, pagerduty
f.yaml:4: destinations[1] ("b"): invalid destination "b": url: is required (or url_from, to read it from an environment variable or file)
f.yaml:5: destinations[2]: invalid destination: entry: unknown field "colour"
f.yaml:7: mutes[0] ("m"): invalid mute "m": rule: "a/b": a rule id, or * for every rule`},
		{name: "until not RFC 3339", text: `
mutes:
  - {scope: "*", id: m, rule: r, until: tomorrow}
  - {scope: "*", id: n, rule: r, until: "2026-12-02"}
`, err: `f.yaml:3: mutes[0]: invalid mute: until: "tomorrow" is not an RFC 3339 time with a zone, such as "2026-12-02T10:00:00Z"
f.yaml:4: mutes[1]: invalid mute: until: "2026-12-02" is not an RFC 3339 time with a zone, such as "2026-12-02T10:00:00Z"`},
		{name: "twice", text: `
destinations:
  - {scope: "*", name: a, type: webhook, url: "https://x.example"}
  - {scope: "*", name: a, type: slack, url: "https://y.example"}
`, err: "destination */a is defined twice"},
		{name: "aliases", text: "destinations:\n  - &d {scope: \"*\", name: a, type: webhook, url: \"https://x.example\"}\n  - *d\n", err: "f.yaml:3: YAML aliases are not allowed in destinations"},
		{name: "unknown list", text: "destinatons: []\n", err: `unknown key "destinatons"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := rule.ParseNotifyFile("f.yaml", []byte(tc.text))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, rule.ErrInvalid) {
					t.Fatalf("err = %v\nwant one containing %q, matching ErrInvalid", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ds, ms []string
			for _, d := range f.Destinations {
				ds = append(ds, d.Scope+"/"+d.Name+"="+d.Type)
			}
			for _, m := range f.Mutes {
				ms = append(ms, m.Scope+"/"+m.ID+":"+m.Rule)
			}
			if strings.Join(ds, " ") != tc.dests || strings.Join(ms, " ") != tc.mutes {
				t.Errorf("destinations %v mutes %v; want %q and %q", ds, ms, tc.dests, tc.mutes)
			}
		})
	}
}

// FuzzParseNotifyFile: any text either parses to valid destinations and mutes whose
// controls decode back to themselves, or is an error matching ErrInvalid; never a
// panic.
func FuzzParseNotifyFile(f *testing.F) {
	f.Add([]byte("destinations:\n  - {scope: \"*\", name: a, type: webhook, url: \"https://x.example/h\", secret: {env: K}}\nmutes:\n  - {scope: c-1, id: m, rule: \"*\"}\n"))
	f.Add([]byte(`{"destinations":[{"scope":"c","name":"p","type":"pagerduty","url":"https://e.example","secret":{"file":"/f"}}]}`))
	f.Add([]byte("rules: []\nmutes: [{scope: '*', id: x, rule: r, until: '2030-01-01T00:00:00Z'}]\n"))
	f.Add([]byte("destinations: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		nf, err := rule.ParseNotifyFile("f.yaml", data)
		if err != nil {
			if !errors.Is(err, rule.ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		var cs []*rule.Control
		for _, d := range nf.Destinations {
			cs = append(cs, rule.UpsertDestination(d))
		}
		for _, m := range nf.Mutes {
			cs = append(cs, rule.UpsertMute(m))
		}
		for _, c := range cs {
			b, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := rule.ParseControl(b)
			if err != nil {
				t.Fatalf("control %s of a parsed file does not parse: %v", b, err)
			}
			if back.RecordKey() != c.RecordKey() {
				t.Fatalf("record key %s, want %s", back.RecordKey(), c.RecordKey())
			}
		}
	})
}
