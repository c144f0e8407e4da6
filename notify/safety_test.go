package notify

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	t.Parallel()
	const hint = " (allow with --notify-allow-private)"
	for _, tc := range []struct {
		url  string
		want string // the error, "" for none; with allowPrivate only the shape errors stay
	}{
		{"https://example.com", ""},
		{"https://hooks.slack.com/services/T0/B0/XXXX", ""},
		{"http://93.184.215.14:8080/hook", ""},
		{"http://[2606:4700::1111]/", ""},
		{"HTTPS://Example.COM/x", ""},
		{"http://10.0.0.1", "address 10.0.0.1 is private" + hint},
		{"http://192.168.1.1/x", "address 192.168.1.1 is private" + hint},
		{"http://172.16.5.4/", "address 172.16.5.4 is private" + hint},
		{"http://127.0.0.1:80", "address 127.0.0.1 is loopback" + hint},
		{"http://[::1]/", "address ::1 is loopback" + hint},
		{"http://169.254.169.254/", "address 169.254.169.254 is link-local" + hint},
		{"http://[fe80::1%25eth0]/", "address fe80::1%eth0 is link-local" + hint},
		{"http://100.64.0.1", "address 100.64.0.1 is carrier-grade NAT (100.64.0.0/10)" + hint},
		{"http://[fd00::1]", "address fd00::1 is private" + hint},
		{"http://[::ffff:127.0.0.1]", "address ::ffff:127.0.0.1 is loopback" + hint},
		{"http://[::ffff:10.1.2.3]:8443/", "address ::ffff:10.1.2.3 is private" + hint},
		{"http://[64:ff9b::a9fe:a9fe]/", "address 64:ff9b::a9fe:a9fe is link-local" + hint},
		{"http://[2002:a9fe:a9fe::1]/", "address 2002:a9fe:a9fe::1 is link-local" + hint},
		{"http://[::a00:1]/", "address ::a00:1 is private" + hint},
		{"http://[::10.0.0.1]/", "address ::10.0.0.1 is private" + hint},
		{"http://[64:ff9b:1::a00:1]/", "address 64:ff9b:1::a00:1 is local-use NAT64 (64:ff9b:1::/48)" + hint},
		{"http://0.0.0.0:9000", "address 0.0.0.0 is unspecified" + hint},
		{"http://[::]/", "address :: is unspecified" + hint},
		{"http://224.0.0.1/", "address 224.0.0.1 is multicast" + hint},
		{"http://255.255.255.255/", "address 255.255.255.255 is broadcast" + hint},
		{"http://localhost", "address localhost is loopback" + hint},
		{"http://LocalHost.:8080/", "address LocalHost. is loopback" + hint},
		{"http://api.localhost/", "address api.localhost is loopback" + hint},
		{"ftp://x", `notify: destination URL: scheme "ftp" is not http or https`},
		{"example.com/hook", "notify: destination URL: no scheme (want http:// or https://)"},
		{"http://user:pw@example.com", "notify: destination URL: user info (user:password@) is not allowed; sign with the destination's secret instead"},
		{"http://", "notify: destination URL: no host"},
		{"http:example.com", "notify: destination URL: no host"},
		{"http://:8080/", "notify: destination URL: no host"},
		{"http://example.com/%zz", `notify: destination URL: invalid URL escape "%zz"`},
		{"http://example.com:99999/", "notify: destination URL: port 99999 is not a number from 1 to 65535"},
		{"http://example.com:0/", "notify: destination URL: port 0 is not a number from 1 to 65535"},
	} {
		for _, allow := range []bool{false, true} {
			want := tc.want
			if allow && strings.HasSuffix(want, hint) {
				want = ""
			}
			err := CheckURL(tc.url, allow)
			if got := errText(err); got != want {
				t.Errorf("CheckURL(%q, allowPrivate %v) = %q, want %q", tc.url, allow, got, want)
			}
			var fe *ForbiddenAddressError
			if errors.As(err, &fe) != strings.HasSuffix(want, hint) {
				t.Errorf("CheckURL(%q): %v is a ForbiddenAddressError: %v", tc.url, err, !strings.HasSuffix(want, hint))
			}
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestForbiddenKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr, want string
	}{
		{"8.8.8.8", ""},
		{"2606:4700::1111", ""},
		{"172.15.255.255", ""}, // just below 172.16/12
		{"172.32.0.0", ""},     // just above
		{"100.63.255.255", ""}, // just below 100.64/10
		{"100.128.0.0", ""},    // just above
		{"64:ff9b::808:808", ""},
		{"::ffff:8.8.8.8", ""},
		{"172.31.255.255", "private"},
		{"100.127.255.255", "carrier-grade NAT (100.64.0.0/10)"},
		{"127.255.0.1", "loopback"},
		{"0.1.2.3", "unspecified"},
		{"fc00::1", "private"},
		{"fe80::1%eth0", "link-local"},
		{"ff02::1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:100.64.0.1", "carrier-grade NAT (100.64.0.0/10)"},
		{"64:ff9b::7f00:1", "loopback"},
		// IPv4 written inside IPv6 other ways: the IPv4 address is what is reached.
		{"64:ff9b:1::a00:1", "local-use NAT64 (64:ff9b:1::/48)"},
		{"64:ff9b:1:2:3::808:808", "local-use NAT64 (64:ff9b:1::/48)"},
		{"2002:a00:1::1", "private"},                        // 6to4 of 10.0.0.1
		{"2002:a9fe:a9fe::", "link-local"},                  // 6to4 of 169.254.169.254
		{"2002:808:808::1", ""},                             // 6to4 of 8.8.8.8
		{"::a00:1", "private"},                              // IPv4-compatible 10.0.0.1
		{"::7f00:1", "loopback"},                            // IPv4-compatible 127.0.0.1
		{"::808:808", ""},                                   // IPv4-compatible 8.8.8.8
		{"::ffff:0:a9fe:a9fe", "link-local"},                // IPv4-translated 169.254.169.254
		{"2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"}, // Teredo, client 10.0.0.1
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", ""},        // Teredo, client 8.8.8.8
		{"::", "unspecified"},
		{"::1", "loopback"},
	} {
		if got := forbiddenKind(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("forbiddenKind(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// TestDialTimeRefusal: without AllowPrivate the dialer refuses a loopback receiver
// however the URL names it (an IP literal, or a name resolved to it, which CheckURL
// could not see): final, the address named, and the receiver saw nothing. The same
// receiver is reached with AllowPrivate.
func TestDialTimeRefusal(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {})
	u, err := url.Parse(rc.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	portText := ":" + u.Port()
	cfg := testConfig()
	cfg.AllowPrivate = false
	strict := newSender(t, cfg)
	for _, tc := range []struct {
		url    string
		reason string // exact, or the suffix after "address "
	}{
		{"http://127.0.0.1" + portText + "/hook", "address 127.0.0.1 is loopback (allow with --notify-allow-private)"},
		{"http://[::ffff:127.0.0.1]" + portText + "/hook", " is loopback (allow with --notify-allow-private)"},
		// A name: resolved, then refused at the dial (::1 or 127.0.0.1, whichever the
		// resolver gives first).
		{"http://localhost" + portText + "/hook", " is loopback (allow with --notify-allow-private)"},
	} {
		out := strict.Deliver(context.Background(), Target{Name: "hook", Type: TypeWebhook, URL: tc.url, Secret: testSecret}, testAlert())
		okReason := out.Reason == tc.reason || strings.HasPrefix(tc.reason, " ") && strings.HasPrefix(out.Reason, "address ") && strings.HasSuffix(out.Reason, tc.reason)
		if out.Delivered || !out.Final || out.Attempts != 1 || out.Status != 0 || !okReason {
			t.Errorf("%s: outcome %+v, want final after 1 attempt, reason %q", tc.url, out, tc.reason)
		}
	}
	if n := len(rc.seen()); n != 0 {
		t.Fatalf("the receiver saw %d requests", n)
	}
	open := newSender(t, testConfig())
	if out := open.Deliver(context.Background(), Target{Name: "hook", Type: TypeWebhook, URL: "http://localhost" + portText + "/hook", Secret: testSecret}, testAlert()); !out.Delivered {
		t.Errorf("AllowPrivate: outcome %+v", out)
	}
}
