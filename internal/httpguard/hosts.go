// Package httpguard holds the protections every HTTP server of Hindsight shares: the
// Host check that refuses DNS rebinding, and, for the side servers of `hindsight
// notify` and `hindsight archive` (/metrics and read-only state), a server with a
// connection cap, timeouts and a header cap that stops cleanly. The live daemon's
// server adds its own (API token, body cap, streams, heavy requests) on top of Hosts.
//
// Each limit is a field of Limits, a flag of the command that serves, a value in
// hindsight_limit{name}; the connection and header caps and the header, idle and write
// timeouts reached are counted in hindsight_limit_reached_total{name} (README.md,
// "Limits"), by the live daemon's server and the side servers alike (Conn).
package httpguard

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Hosts decides which Host headers are a server's own: its listener's address, loopback
// names when it listens on loopback, any IP address when it listens on every interface,
// and the allowed hosts it was given. A page of another site whose name was pointed at
// this server's address (DNS rebinding) carries its own name, and is refused.
type Hosts struct {
	port     string          // the listener's port
	names    map[string]bool // the listener's own host names and address
	loopback bool            // loopback names are the server's too
	anyIP    bool            // every IP address is (an all-interfaces listener)
	allowAll bool
	allowed  map[string]bool // "host" (any port) or "host:port", lower case
	listen   string
}

// NewHosts returns the policy of a server configured to listen on cfgAddr (host:port as
// given, the port perhaps 0), listening on addr, that also accepts allowed: names (any
// port), name:port, or "*" (anything: no check).
func NewHosts(cfgAddr string, addr net.Addr, allowed []string) Hosts {
	p := Hosts{names: map[string]bool{}, allowed: map[string]bool{}, listen: addr.String()}
	cfgHost, _, _ := net.SplitHostPort(cfgAddr)
	if ta, ok := addr.(*net.TCPAddr); ok {
		p.port = strconv.Itoa(ta.Port)
		p.anyIP = ta.IP.IsUnspecified()
		p.loopback = ta.IP.IsLoopback() || p.anyIP
		if !p.anyIP {
			p.names[ta.IP.String()] = true
		}
	}
	if cfgHost == "" {
		p.anyIP, p.loopback = true, true
	} else if ip := net.ParseIP(cfgHost); ip == nil || !ip.IsUnspecified() {
		p.names[normHost(cfgHost)] = true
	}
	for _, a := range allowed {
		if strings.TrimSpace(a) == "*" {
			p.allowAll = true
			continue
		}
		p.allowed[normHost(a)] = true
	}
	return p
}

// ValidateAllowed reports the malformed entries of an allowed hosts list.
func ValidateAllowed(allowed []string) error {
	var errs []error
	for _, h := range allowed {
		// The flag splits at commas alone, so "a.example, b.example" gives " b.example":
		// the space around an entry is no part of it (normHost drops it too).
		if h = strings.TrimSpace(h); h == "*" {
			continue
		}
		if h == "" || strings.ContainsAny(h, "/ \t@") {
			errs = append(errs, fmt.Errorf("allowed host %q: give a host name or host:port, without scheme or path", h))
			continue
		}
		// Each of these passes the checks below and equals no Host header a browser
		// writes, so the entry would allow nothing while the operator believes it
		// allows that host: no pattern but "*" is matched, a browser sends a name's
		// punycode, and drops an IPv6 address's zone.
		if strings.Contains(h, "*") {
			errs = append(errs, fmt.Errorf("allowed host %q: only * alone is a wildcard (any host); list each name", h))
			continue
		}
		if strings.ContainsFunc(h, func(r rune) bool { return r >= utf8.RuneSelf }) {
			errs = append(errs, fmt.Errorf("allowed host %q: give an internationalized name in the ASCII form browsers send (xn--…)", h))
			continue
		}
		if strings.Contains(h, "%") {
			errs = append(errs, fmt.Errorf("allowed host %q: give the IPv6 address without its zone, which no Host header carries", h))
			continue
		}
		// A dot or empty brackets are no name: normHost makes the entry empty, which
		// equals only a request without a Host header, and no browser sends one.
		if name, _, err := net.SplitHostPort(normHost(h)); err == nil && name == "" {
			errs = append(errs, fmt.Errorf("allowed host %q: give a host name before the port", h))
			continue
		} else if err != nil && normHost(h) == "" {
			errs = append(errs, fmt.Errorf("allowed host %q: give a host name", h))
			continue
		}
		// A port that is not a number would never equal a request's, so the entry would
		// allow nothing while the operator believes it allows that host. Allows compares
		// the port's text, and no browser writes one with leading zeros (0080): that
		// allowed nothing too.
		_, port, err := net.SplitHostPort(h)
		if err != nil {
			// Only an IPv6 address holds colons without a port: any other text would
			// never equal a request's host (alerts.example:80:80).
			if strings.Contains(h, ":") && net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")) == nil {
				errs = append(errs, fmt.Errorf("allowed host %q: give a host name or host:port (an IPv6 address with a port in brackets: [2001:db8::1]:8080)", h))
			}
			continue
		}
		if n, perr := strconv.ParseUint(port, 10, 16); perr != nil || n == 0 || strconv.FormatUint(n, 10) != port {
			errs = append(errs, fmt.Errorf("allowed host %q: the part after the colon must be a port from 1 to 65535, without leading zeros (or give the host alone for any port)", h))
		}
	}
	return errors.Join(errs...)
}

// normHost lower-cases a host (or host:port), drops a trailing dot and the brackets of
// an IPv6 address without port, and writes an IP address in its shortest form, as a
// browser does: an entry 2001:db8:0:0::7 allows [2001:db8::7].
func normHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if host, port, err := net.SplitHostPort(h); err == nil {
		return net.JoinHostPort(shortIP(strings.TrimSuffix(host, ".")), port)
	}
	return shortIP(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), "."))
}

// shortIP is host in net.IP's form when it is an IP address, else host.
func shortIP(host string) string {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	return host
}

// Allows reports whether a request's Host header names this server.
func (p *Hosts) Allows(hostHeader string) bool {
	if p.allowAll {
		return true
	}
	host, port := normHost(hostHeader), ""
	if h, pt, err := net.SplitHostPort(host); err == nil {
		host, port = h, pt
	}
	if p.allowed[host] || (port != "" && p.allowed[net.JoinHostPort(host, port)]) || (port == "" && p.allowed[net.JoinHostPort(host, "80")]) {
		return true
	}
	if port == "" {
		port = "80" // HTTP's default, as a browser omits it
	}
	if port != p.port {
		return false
	}
	if p.names[host] {
		return true
	}
	ip := net.ParseIP(host)
	if p.loopback && (host == "localhost" || (ip != nil && ip.IsLoopback())) {
		return true
	}
	// On an all-interfaces listener any address literal is this server's: a page whose
	// origin is an IP address is served by whatever answers there, which is this
	// server, so it cannot be another site's page rebinding a name.
	return p.anyIP && ip != nil
}

// Refusal is the message of a 403 for a Host header Allows refused.
func (p *Hosts) Refusal(hostHeader string) string {
	want := "to " + p.listen
	if p.loopback {
		want = fmt.Sprintf("to a loopback host (localhost, 127.0.0.1, [::1]) on port %s", p.port)
		if p.anyIP {
			want = fmt.Sprintf("to a loopback host or an IP address of this machine on port %s", p.port)
		}
	}
	return fmt.Sprintf("host %q is not this daemon's: requests must be addressed %s, or to a host listed in --allowed-hosts "+
		"(this refuses pages of other sites that point their own name at this daemon: DNS rebinding)", hostHeader, want)
}
