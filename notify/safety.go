package notify

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/hindsightdev/hindsight/rule"
)

// ForbiddenAddressError is a destination address refused because AllowPrivate is off:
// from CheckURL for an IP literal or localhost, and in an Outcome's Reason when a
// name resolved to it at dial time.
type ForbiddenAddressError struct {
	// Addr is the address as written or resolved (an IPv4-mapped one stays mapped).
	Addr string
	// Kind is why it is refused: private, loopback, link-local, …
	Kind string
}

func (e *ForbiddenAddressError) Error() string {
	return fmt.Sprintf("address %s is %s (allow with --notify-allow-private)", e.Addr, e.Kind)
}

// Is makes a ForbiddenAddressError errURLForbidden, its class.
func (e *ForbiddenAddressError) Is(target error) bool { return target == errURLForbidden }

// The classes of the problems CheckURL finds, for errors.Is, each worded as what it
// says of a URL: what a reason may say of a URL that is a secret (url_from), whose own
// error quotes pieces of it (Stage.target).
var (
	errURLSyntax    = errors.New("is not a URL")
	errURLScheme    = errors.New("is not an http or https URL")
	errURLNoHost    = errors.New("has no host")
	errURLUserInfo  = errors.New("carries user info (user:password@), which is not allowed; sign with the destination's secret instead")
	errURLPort      = errors.New("has a port that is not a number from 1 to 65535")
	errURLForbidden = errors.New("names an address refused without --notify-allow-private")
)

// urlError is a problem parseURL finds: its message, which may quote pieces of the URL
// (a scheme, a port), its class (errURLSyntax, …) and what url.Parse said, if it did.
type urlError struct {
	msg          string
	class, cause error
}

func (e *urlError) Error() string { return e.msg }

func (e *urlError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.class}
	}
	return []error{e.class, e.cause}
}

func badURL(class error, format string, args ...any) error {
	return &urlError{msg: "notify: destination URL: " + fmt.Sprintf(format, args...), class: class}
}

var (
	// thisNetwork is 0.0.0.0/8: Linux connects 0.x.y.z to the local host.
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	// cgnat is the shared address space of carrier-grade NAT (RFC 6598), private in
	// all but name: inside clouds it often holds internal services.
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	broadcast = netip.MustParseAddr("255.255.255.255")
	// nat64LocalUse is the local-use NAT64 prefix (RFC 8215): each network chooses how
	// it embeds IPv4 in it, so all of it is refused, as a private range is.
	nat64LocalUse = netip.MustParsePrefix("64:ff9b:1::/48")
)

// ipv4Embeddings are the IPv6 ranges through which a host or its routers reach an
// IPv4 address written inside the IPv6 one: each would reach 10.0.0.1 or
// 169.254.169.254 as surely as the IPv4 literal does.
var ipv4Embeddings = []struct {
	prefix netip.Prefix
	at     int  // the IPv4 address's first byte in the IPv6 one
	flip   bool // written inverted (Teredo's client address)
}{
	{netip.MustParsePrefix("64:ff9b::/96"), 12, false},    // well-known NAT64 (RFC 6052)
	{netip.MustParsePrefix("::ffff:0:0:0/96"), 12, false}, // IPv4-translated (RFC 2765)
	{netip.MustParsePrefix("::/96"), 12, false},           // IPv4-compatible (RFC 4291, deprecated)
	{netip.MustParsePrefix("2002::/16"), 2, false},        // 6to4 (RFC 3056)
	{netip.MustParsePrefix("2001::/32"), 12, true},        // Teredo's client (RFC 4380)
}

// embeddedIPv4 is the IPv4 address addr reaches through one of ipv4Embeddings, if it
// is in one. :: and ::1 are in ::/96 but are IPv6's own unspecified and loopback.
func embeddedIPv4(addr netip.Addr) (netip.Addr, bool) {
	if !addr.Is6() || addr.IsUnspecified() || addr.IsLoopback() {
		return addr, false
	}
	b := addr.As16()
	for _, e := range ipv4Embeddings {
		if e.prefix.Contains(addr) {
			v4 := [4]byte(b[e.at : e.at+4])
			if e.flip {
				for i := range v4 {
					v4[i] ^= 0xff
				}
			}
			return netip.AddrFrom4(v4), true
		}
	}
	return addr, false
}

// forbiddenKind says why addr may not be reached without AllowPrivate, "" if it may.
func forbiddenKind(addr netip.Addr) string {
	addr = addr.WithZone("").Unmap()
	if nat64LocalUse.Contains(addr) {
		return "local-use NAT64 (64:ff9b:1::/48)"
	}
	if v4, ok := embeddedIPv4(addr); ok {
		addr = v4
	}
	switch {
	case addr.IsUnspecified() || thisNetwork.Contains(addr):
		return "unspecified"
	case addr.IsLoopback():
		return "loopback"
	case addr.IsPrivate(): // 10/8, 172.16/12, 192.168/16, fc00::/7
		return "private"
	case addr.IsLinkLocalUnicast(): // 169.254/16 (cloud metadata), fe80::/10
		return "link-local"
	case addr.IsMulticast():
		return "multicast"
	case addr == broadcast:
		return "broadcast"
	case cgnat.Contains(addr):
		return "carrier-grade NAT (100.64.0.0/10)"
	}
	return ""
}

// refuseForbidden is the dialer's Control: it runs on each address the name resolved
// to, just before connecting, so what DNS answers (or rebinds to) cannot get past it.
func refuseForbidden(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("notify: checking dial address %q: %w", address, err)
	}
	if kind := forbiddenKind(ap.Addr()); kind != "" {
		return &ForbiddenAddressError{Addr: ap.Addr().String(), Kind: kind}
	}
	return nil
}

// CheckURL validates a destination URL when it is applied: scheme http or https, a
// host, no user info; and, unless allowPrivate, a host that is not localhost nor an
// IP literal that the dialer would refuse. A host name is not resolved here: what it
// resolves to is checked at every dial. The error does not quote the URL whole, but
// may quote pieces of it (a scheme, a port, a refused host): a caller whose URL is a
// secret says the error's class instead (errURLScheme, …, errURLForbidden for a
// ForbiddenAddressError), as Stage.target does for url_from.
func CheckURL(raw string, allowPrivate bool) error {
	u, err := parseURL(raw)
	if err != nil {
		return err
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	if isLocalhost(host) {
		return &ForbiddenAddressError{Addr: host, Kind: "loopback"}
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if kind := forbiddenKind(addr); kind != "" {
			return &ForbiddenAddressError{Addr: host, Kind: kind}
		}
	}
	return nil
}

// parseURL parses a destination URL and checks its shape: what Deliver needs whatever
// AllowPrivate says.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the URL; keep only what is wrong with it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &urlError{msg: "notify: destination URL: " + err.Error(), class: errURLSyntax, cause: err}
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		if u.Scheme == "" {
			return nil, badURL(errURLScheme, "no scheme (want http:// or https://)")
		}
		return nil, badURL(errURLScheme, "scheme %q is not http or https", u.Scheme)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return nil, badURL(errURLNoHost, "no host")
	case u.User != nil:
		return nil, badURL(errURLUserInfo, "user info (user:password@) is not allowed; sign with the destination's secret instead")
	case !rule.PortInRange(u.Port()):
		return nil, badURL(errURLPort, "port %s is not a number from 1 to 65535", u.Port())
	}
	return u, nil
}

// isLocalhost reports whether host is localhost or a name under it, which resolvers
// answer with loopback (RFC 6761).
func isLocalhost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}
