package console

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/hindsightdev/hindsight/internal/httpjson"
)

// AuthError is why a write was refused: the HTTP status to answer and a message that
// says what to do.
type AuthError struct {
	Status int
	Msg    string
	// Challenge is the WWW-Authenticate header of a 401.
	Challenge string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Msg)
}

// WritePolicy decides whether the write request r may proceed, given the configured API
// token and the address the HTTP listener is bound to. It returns nil when it may.
//
//   - A token is configured: r must carry "Authorization: Bearer <token>" (compared in
//     constant time). Missing or wrong: 401 with a WWW-Authenticate challenge.
//   - No token, and the listener is not a loopback address (0.0.0.0, a LAN address, a
//     host name other than localhost): 403, saying to set --api-token or
//     HINDSIGHT_API_TOKEN. Anyone who can reach the port could otherwise change rules.
//   - No token, loopback listener: allowed, for a request addressed to a loopback host
//     (the Host header) and, when the browser says where it comes from (Origin), from
//     that same host. Other pages open in the user's browser could otherwise post to
//     127.0.0.1 (cross-site requests, DNS rebinding): 403.
func WritePolicy(token, listenAddr string, r *http.Request) *AuthError {
	if token != "" {
		return checkToken(token, "writes", r)
	}
	if !IsLoopback(listenAddr) {
		return &AuthError{Status: http.StatusForbidden,
			Msg: fmt.Sprintf("writes are disabled: the daemon listens on %s, which is not a loopback address, and has no API token; start it with --api-token or HINDSIGHT_API_TOKEN", listenAddr)}
	}
	if !IsLoopback(r.Host) {
		return &AuthError{Status: http.StatusForbidden,
			Msg: fmt.Sprintf("writes without an API token must be addressed to a loopback host, not %q", r.Host)}
	}
	return SameOrigin("writes without an API token are", r)
}

// SameOrigin refuses (403) a request that a browser sent from another site's page: its
// Origin, when it has one, must name the host the request is addressed to (Host). what
// says what is refused ("writes without an API token are"). A browser sends Origin with
// every cross-site POST; a script without one is not a page of another site.
func SameOrigin(what string, r *http.Request) *AuthError {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(withoutDefaultPort(u.Scheme, u.Host), withoutDefaultPort(u.Scheme, r.Host)) {
			return &AuthError{Status: http.StatusForbidden,
				Msg: fmt.Sprintf("%s accepted only from this console's own page, not from origin %q", what, o)}
		}
	}
	return nil
}

// withoutDefaultPort is host without the port scheme implies: a browser's Origin leaves
// it out (https://name), and a proxy may forward Host with it (name:443).
func withoutDefaultPort(scheme, host string) string {
	if h, p, err := net.SplitHostPort(host); err == nil && (scheme == "https" && p == "443" || scheme == "http" && p == "80") {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return host
}

// ReadPolicy decides whether the read request r may proceed, with the same token rule
// as WritePolicy: when protect is set (the daemon has a token and no --public-read), r
// must carry "Authorization: Bearer <token>"; missing or wrong, 401 with a
// WWW-Authenticate challenge. Without protect every read may proceed: a daemon without
// a token has no secret to ask for, and its writes are what WritePolicy guards.
func ReadPolicy(token string, protect bool, r *http.Request) *AuthError {
	if !protect || token == "" {
		return nil
	}
	return checkToken(token, "reads", r)
}

// checkToken checks r's bearer token against token, in constant time.
func checkToken(token, what string, r *http.Request) *AuthError {
	got, ok := bearer(r.Header.Get("Authorization"))
	switch {
	case !ok:
		return &AuthError{Status: http.StatusUnauthorized, Challenge: `Bearer realm="hindsight"`,
			Msg: "this daemon requires an API token for " + what + ": send Authorization: Bearer <token>"}
	case subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1:
		return &AuthError{Status: http.StatusUnauthorized, Challenge: `Bearer realm="hindsight", error="invalid_token"`,
			Msg: "the API token is wrong"}
	}
	return nil
}

// Answer writes e as the answer: its status, the challenge of a 401, and the error body.
func (e *AuthError) Answer(w http.ResponseWriter) {
	if e.Challenge != "" {
		w.Header().Set("WWW-Authenticate", e.Challenge)
	}
	httpjson.Error(w, e.Status, e.Msg)
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// IsLoopback reports whether addr (host:port, or a bare host) names only the loopback
// interface: localhost, 127.0.0.0/8 or ::1. An empty host (":8080") and the unspecified
// addresses (0.0.0.0, ::) listen on every interface, so they are not loopback.
func IsLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if i := strings.IndexByte(host, '%'); i >= 0 { // zone of a link-local address
		host = host[:i]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// write wraps a handler that changes state in WritePolicy.
func (c *Console) write(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := WritePolicy(c.cfg.APIToken, c.cfg.Backend.ListenAddr(), r); err != nil {
			err.Answer(w)
			return
		}
		h(w, r)
	}
}

// sameOrigin wraps a read that runs long (a preview, a backtest: a heavy-request slot
// for up to --preview-timeout) in SameOrigin, whatever the token: another site's page
// open in the user's browser could otherwise keep posting it to the daemon (with a
// token and --public-read, or none, such reads are open) and hold every heavy slot,
// so that the user's own previews, counts and rules listings got 503. Requiring a JSON
// body (readJSON) already keeps such a page from sending it without a CORS preflight,
// which the daemon does not answer; this refuses it however it is sent.
func (c *Console) sameOrigin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := SameOrigin("previews and backtests are", r); err != nil {
			err.Answer(w)
			return
		}
		h(w, r)
	}
}

// read wraps a handler that only reads in ReadPolicy.
func (c *Console) read(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := ReadPolicy(c.cfg.APIToken, c.cfg.ProtectReads, r); err != nil {
			err.Answer(w)
			return
		}
		h(w, r)
	}
}

// heavy wraps a handler that walks every counter in Config.Admit.
func (c *Console) heavy(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		done, ok := c.admit(w)
		if !ok {
			return
		}
		defer done()
		h(w, r)
	}
}

// admit asks Config.Admit whether a heavy request may run now; when it may not, it has
// answered 503 with Retry-After.
func (c *Console) admit(w http.ResponseWriter) (done func(), ok bool) {
	if c.cfg.Admit == nil {
		return func() {}, true
	}
	done, err := c.cfg.Admit()
	if err != nil {
		w.Header().Set("Retry-After", "1")
		httpjson.Error(w, http.StatusServiceUnavailable, err.Error())
		return nil, false
	}
	return done, true
}

// reached tells Config.LimitReached that a request reached the limit name.
func (c *Console) reached(name string) {
	if c.cfg.LimitReached != nil {
		c.cfg.LimitReached(name)
	}
}
