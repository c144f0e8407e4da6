package notify

import (
	"errors"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
)

// TestURLFromReasonNeverQuotesTheSecret: a destination's url_from may name any variable
// under the secret prefix, the signing or routing key of another destination among them
// (the writer controls which). When the value read is not a URL CheckURL takes, its own
// reason quotes pieces of it (parseURL: `scheme %q is not http or https`, url.Parse's
// `invalid port ":…" after host`, a ForbiddenAddressError's host), and the reason goes
// to the undelivered topic, logs and the console, where the writer reads it. The reason
// names the reference and the kind of problem only; errors.Is finds the class.
func TestURLFromReasonNeverQuotesTheSecret(t *testing.T) {
	env := map[string]string{
		// e.g. a basic-auth style credential set aside for another destination
		"HINDSIGHT_SECRET_OTHER_KEY": "svc-hindsight-prod:Zq9xW7",
		"HINDSIGHT_SECRET_OTHER_URL": "https://hooks.example.com:S3cretT0ken/x",
	}
	s := secretStage(t, Config{}, env, nil)
	for name, secret := range env {
		d := &rule.Destination{Scope: "*", Name: "probe", Type: "webhook", URLFrom: &rule.SecretRef{Env: name}}
		_, err := s.target(d)
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		user, pass, _ := strings.Cut(strings.TrimPrefix(secret, "https://hooks.example.com"), ":")
		for _, piece := range []string{user, strings.ToLower(user), pass, strings.TrimSuffix(pass, "/x")} {
			if len(piece) >= 6 && strings.Contains(err.Error(), piece) {
				t.Errorf("url_from %s: the reason %q quotes %q, a piece of the secret", name, err.Error(), piece)
			}
		}
	}

	// Each kind of problem, said with nothing of the value; an inline url (no secret,
	// the destination shows it) keeps CheckURL's own words.
	const token = "Zq9xW7kP"
	for _, tc := range []struct {
		value string
		class error
		want  string
	}{
		{token + "://hooks.example.com/x", errURLScheme, "the URL read from environment variable HINDSIGHT_SECRET_U (url_from) is not an http or https URL"},
		{token, errURLScheme, "the URL read from environment variable HINDSIGHT_SECRET_U (url_from) is not an http or https URL"},
		{"https://hooks.example.com:" + token + "/x", errURLSyntax, "the URL read from environment variable HINDSIGHT_SECRET_U (url_from) is not a URL"},
		{"https://hooks.example.com/" + token + "%zz", errURLSyntax, "the URL read from environment variable HINDSIGHT_SECRET_U (url_from) is not a URL"},
		{"https:" + token, errURLNoHost, "the URL read from environment variable HINDSIGHT_SECRET_U (url_from) has no host"},
		{"https://" + token + ":pw@hooks.example.com/", errURLUserInfo, "the URL read from environment variable HINDSIGHT_SECRET_U (url_from) carries user info"},
		{"https://hooks.example.com:99999/" + token, errURLPort, "the URL read from environment variable HINDSIGHT_SECRET_U (url_from) has a port that is not a number from 1 to 65535"},
		{"http://10.11.12.13/" + token, errURLForbidden, "the URL read from environment variable HINDSIGHT_SECRET_U (url_from) names an address that is private (allow with --notify-allow-private)"},
		{"http://" + token + ".localhost/", errURLForbidden, "the URL read from environment variable HINDSIGHT_SECRET_U (url_from) names an address that is loopback"},
	} {
		s := secretStage(t, Config{}, map[string]string{"HINDSIGHT_SECRET_U": tc.value}, nil)
		_, err := s.target(&rule.Destination{Scope: "*", Name: "probe", Type: "webhook", URLFrom: &rule.SecretRef{Env: "HINDSIGHT_SECRET_U"}})
		switch {
		case err == nil:
			t.Errorf("url_from %q: no error", tc.value)
			continue
		case strings.Contains(strings.ToLower(err.Error()), strings.ToLower(token)), strings.Contains(err.Error(), "10.11.12.13"):
			t.Errorf("url_from %q: the reason %q quotes the value", tc.value, err)
		case !strings.Contains(err.Error(), tc.want):
			t.Errorf("url_from %q: the reason %q does not say %q", tc.value, err, tc.want)
		}
		if !errors.Is(err, tc.class) {
			t.Errorf("url_from %q: %v is not %v", tc.value, err, tc.class)
		}
		if _, err := s.target(&rule.Destination{Scope: "*", Name: "probe", Type: "webhook", URL: tc.value}); err == nil || !errors.Is(err, tc.class) {
			t.Errorf("url %q: %v is not %v", tc.value, err, tc.class)
		}
	}

	// A file reference is named by its path.
	dir := t.TempDir()
	writeSecret(t, dir+"/url", "ftp://"+token)
	s = secretStage(t, Config{SecretDirs: []string{dir}}, nil, nil)
	_, err := s.target(&rule.Destination{Scope: "c-1", Name: "probe", Type: "slack", URLFrom: &rule.SecretRef{File: dir + "/url"}})
	if want := "destination c-1/probe: the URL read from file " + dir + "/url (url_from) is not an http or https URL"; err == nil || err.Error() != want {
		t.Errorf("url_from a file: %v, want %s", err, want)
	}
}
