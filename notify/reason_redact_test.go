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
