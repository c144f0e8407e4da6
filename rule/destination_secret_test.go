package rule

import (
	"strings"
	"testing"
)

// TestDestinationValidateDoesNotQuoteURL: docs/notifications.md (Slack): "the webhook's
// URL is its secret, and Hindsight never quotes a destination's URL in errors or
// logs". A destination URL that url.Parse refuses (a stray '%', a trailing newline
// pasted with it) was reported with url.Error's text, which quoted the whole URL,
// secret token included: in `hindsight destinations apply` errors, in the
// control-status message and in the daemons' "control not applied" logs.
func TestDestinationValidateDoesNotQuoteURL(t *testing.T) {
	const token = "XSECRETTOKENX"
	for _, u := range []string{
		"https://hooks.slack.com/services/T000/B000/" + token + "%zz",
		"https://hooks.slack.com/services/T000/B000/" + token + "\n",
	} {
		d := &Destination{Scope: "*", Name: "chan", Type: DestSlack, URL: u}
		err := d.Validate()
		if err == nil {
			t.Fatalf("URL %q: valid", u)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("URL %q: the error quotes the URL's secret token:\n%v", u, err)
		}
		// The same, as a control record read off the controls topic (what live and
		// notify put in controls.status and their logs).
		js := `{"op":"upsert","destination":{"scope":"*","name":"chan","type":"slack","url":` + strq(u) + `}}`
		if _, err := ParseControl([]byte(js)); err == nil || strings.Contains(err.Error(), token) {
			t.Errorf("control record with URL %q: error quotes the URL's secret token:\n%v", u, err)
		}
	}
}

func strq(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
