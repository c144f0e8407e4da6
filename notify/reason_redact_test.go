package notify

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestReasonDoesNotQuoteURLEchoedByReceiver: docs/notifications.md (Slack): "the
// webhook's URL is its secret, and Hindsight never quotes a destination's URL in errors
// or logs". A failed answer's body is quoted in the Reason (undelivered record, the
// "alert undelivered" log, the console's and /v1/notify/alerts' delivery states), and
// many receivers echo the request's path in it: Express's default 404 is "Cannot POST
// /the/path". The URL's secret path landed in all of those; it is taken out.
func TestReasonDoesNotQuoteURLEchoedByReceiver(t *testing.T) {
	// Express (finalhandler) default answer to a route it does not have.
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot " +
			r.Method + " " + r.URL.Path + "</pre>\n</body>\n</html>\n"))
	})
	out := newSender(t, testConfig()).Deliver(context.Background(),
		Target{Name: "hook", Type: TypeSlack, URL: rc.srv.URL + secretPath, Secret: testSecret}, testAlert())
	if out.Delivered || !out.Final {
		t.Fatalf("outcome %+v, want a final 404", out)
	}
	if strings.Contains(out.Reason, "s3cr3t") {
		t.Errorf("reason quotes the destination URL's secret path (echoed by the receiver):\n%s", out.Reason)
	}
}

// A generic webhook whose URL carries its credential in the query (Google Chat's
// ...?key=K&token=T, many webhook relays' ?token=): a receiver that names the
// credential it refused ("invalid token T", an echo of the request's query
// parameters) put it in the Reason: redact took out the query only as the one whole
// raw string, never its values.
func TestReasonDoesNotQuoteAQueryTokenEchoed(t *testing.T) {
	const token = "TOKSECRET2"
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"invalid token ` + r.URL.Query().Get("token") + `"}`))
	})
	out := newSender(t, testConfig()).Deliver(context.Background(),
		Target{Name: "hook", Type: TypeWebhook, URL: rc.srv.URL + "/hook?key=KEYSECRET1&token=" + token}, testAlert())
	if out.Delivered || !out.Final {
		t.Fatalf("outcome %+v, want a final 401", out)
	}
	if strings.Contains(out.Reason, token) {
		t.Errorf("reason quotes the destination URL's query token:\n%s", out.Reason)
	}
}

// A webhook signed with a short secret: redact took out every occurrence of the
// secret's bytes in the answer, and the receiver's explanation came mangled letter by
// letter though it quoted nothing secret. Pieces shorter than minRedact stay.
func TestReasonKeepsAnAnswerAShortSecretIsIn(t *testing.T) {
	const msg = "missing required field severity"
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(msg))
	})
	out := newSender(t, testConfig()).Deliver(context.Background(),
		Target{Name: "hook", Type: TypeWebhook, URL: rc.srv.URL + "/hook", Secret: []byte("e")}, testAlert())
	if out.Delivered || !out.Final {
		t.Fatalf("outcome %+v, want a final 400", out)
	}
	if !strings.Contains(out.Reason, msg) {
		t.Errorf("reason does not quote the receiver's answer %q:\n%s", msg, out.Reason)
	}
}
