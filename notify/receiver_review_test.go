package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// liveContext is the context live writes for event (window.ContextOf: the canonical
// form that goes on the alerts topic), for a rule whose alert.context is paths.
func liveContext(t *testing.T, paths []string, event string) map[string]json.RawMessage {
	t.Helper()
	ps, _ := json.Marshal(paths)
	r, err := rule.ParseRule([]byte(`{"id":"p","scope":"*","version":1,"when":{"path":"$.user"},"threshold":1,"alert":{"context":` + string(ps) + `}}`))
	if err != nil {
		t.Fatal(err)
	}
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(event)); err != nil {
		t.Fatal(err)
	}
	return window.ContextOf(r, doc)
}

// TestSlackShowsEventTextEscapedAsSlackRequires: docs/notifications.md (Slack):
// "&, < and > in the text are escaped as Slack requires (&amp;, &lt;, &gt;)". A
// context value taken from an event, as live writes it on the alerts topic, must
// reach the Slack channel as AT&amp;T &lt;!channel&gt; (shown: AT&T <!channel>),
// not as the JSON escapes \u0026 / \u003c / \u003e, shown literally in the channel
// as they were (found by a review helper).
func TestSlackShowsEventTextEscapedAsSlackRequires(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {})
	a := testAlert()
	a.Context = liveContext(t, []string{"$.user"}, `{"user":"AT&T <!channel>"}`)
	a.Group = a.Context // group_by values are written in the same canonical form
	out := newSender(t, testConfig()).Deliver(context.Background(),
		Target{Name: "chan", Type: TypeSlack, URL: rc.srv.URL + secretPath}, a)
	if !out.Delivered {
		t.Fatalf("outcome %+v", out)
	}
	var m struct {
		Text   string `json:"text"`
		Blocks []struct {
			Text *struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(rc.seen()[0].body, &m); err != nil {
		t.Fatal(err)
	}
	const want = `"AT&amp;T &lt;!channel&gt;"`
	if !strings.Contains(m.Text, `$.user=`+want) {
		t.Errorf("Slack text (what the channel renders):\n %s\nwant the group value as $.user=%s", m.Text, want)
	}
	if got := m.Blocks[1].Text.Text; got != "Context:\n• $.user = "+want {
		t.Errorf("Slack context block (what the channel renders):\n %q\nwant %q", got, "Context:\n• $.user = "+want)
	}
}

// TestBlankSecretIsNotSentUnsigned: a destination that names a secret gets
// signed requests ("X-Hindsight-Signature: sent when the destination has a secret"),
// or, when its secret cannot be read, none at all ("a secret that cannot be read makes
// that delivery undelivered, with the reason"). The stage refuses an empty secret
// variable or file, but one holding only whitespace (a file `echo > key` wrote, a
// variable set to " ") was trimmed to nothing after that check and the alert went out
// unsigned to a receiver that expects signed requests (found by a review helper).
func TestBlankSecretIsNotSentUnsigned(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {})
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "hook-key")
	if err := os.WriteFile(keyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{
		Kafka:      ingest.KafkaConfig{Brokers: []string{"127.0.0.1:1"}},
		Sender:     testConfig(),
		SecretDirs: []string{dir},
		Getenv: func(k string) string {
			if k == "HINDSIGHT_SECRET_HOOK_KEY" {
				return " "
			}
			return ""
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.sender.Close()
	for _, ref := range []*rule.SecretRef{{Env: "HINDSIGHT_SECRET_HOOK_KEY"}, {File: keyFile}} {
		d := &rule.Destination{Scope: "*", Name: "hook", Type: rule.DestWebhook, URL: rc.srv.URL + secretPath, Secret: ref}
		before := len(rc.seen())
		tg, err := s.target(d)
		if err != nil {
			if !strings.Contains(err.Error(), "blank") {
				t.Errorf("secret %s (whitespace only): %v, want a reason saying it is blank", ref, err)
			}
			continue // refused with a reason: what the doc says
		}
		t.Errorf("secret %s (whitespace only) taken", ref)
		out := s.sender.Deliver(context.Background(), tg, testAlert())
		hits := rc.seen()[before:]
		if len(hits) > 0 && hits[0].header.Get(HeaderSignature) == "" {
			t.Errorf("secret %s (whitespace only): request sent without %s (outcome delivered=%v)", ref, HeaderSignature, out.Delivered)
		}
	}
}
