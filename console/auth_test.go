package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"127.3.4.5:80", true},
		{"[::1]:8080", true},
		{"localhost:8080", true},
		{"LOCALHOST", true},
		{"127.0.0.1", true},
		{"::1", true},
		{"0.0.0.0:8080", false},
		{"[::]:8080", false},
		{":8080", false},
		{"", false},
		{"10.1.2.3:8080", false},
		{"192.168.0.7:80", false},
		{"[fe80::1%eth0]:80", false},
		{"hindsight.internal:8080", false},
		{"localhost.evil.example:8080", false},
		{"127.0.0.1.nip.io:8080", false},
	} {
		if got := IsLoopback(tc.addr); got != tc.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestWritePolicy(t *testing.T) {
	t.Parallel()
	req := func(host, auth, origin string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "http://"+host+"/v1/console/rules", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		return r
	}
	for _, tc := range []struct {
		name      string
		token     string
		listen    string
		r         *http.Request
		status    int    // 0: allowed
		msg       string // part of the message
		challenge string // part of WWW-Authenticate
	}{
		{name: "token configured, none sent", token: "s3cret", listen: "127.0.0.1:8080", r: req("127.0.0.1:8080", "", ""),
			status: 401, msg: "Authorization: Bearer", challenge: `Bearer realm="hindsight"`},
		{name: "token configured, wrong token", token: "s3cret", listen: "0.0.0.0:8080", r: req("10.0.0.5:8080", "Bearer s3cre", ""),
			status: 401, msg: "wrong", challenge: `error="invalid_token"`},
		{name: "token configured, longer wrong token", token: "s3cret", listen: "0.0.0.0:8080", r: req("10.0.0.5:8080", "Bearer s3cret2", ""),
			status: 401, msg: "wrong", challenge: "invalid_token"},
		{name: "token configured, other scheme", token: "s3cret", listen: "0.0.0.0:8080", r: req("10.0.0.5:8080", "Basic czNjcmV0", ""),
			status: 401, msg: "Bearer", challenge: "Bearer"},
		{name: "token configured, right token, any listener", token: "s3cret", listen: "0.0.0.0:8080", r: req("10.0.0.5:8080", "Bearer s3cret", "http://other.example")},
		{name: "token configured, scheme is case-insensitive", token: "s3cret", listen: "10.0.0.5:8080", r: req("10.0.0.5:8080", "bearer  s3cret ", "")},
		{name: "no token, loopback listener", listen: "127.0.0.1:8080", r: req("127.0.0.1:8080", "", "")},
		{name: "no token, loopback listener, same-origin page", listen: "127.0.0.1:8080", r: req("127.0.0.1:8080", "", "http://127.0.0.1:8080")},
		{name: "no token, localhost", listen: "localhost:8080", r: req("localhost:8080", "", "")},
		{name: "no token, IPv6 loopback", listen: "[::1]:8080", r: req("[::1]:8080", "", "")},
		{name: "no token, all interfaces", listen: "0.0.0.0:8080", r: req("127.0.0.1:8080", "", ""),
			status: 403, msg: "--api-token or HINDSIGHT_API_TOKEN"},
		{name: "no token, empty host", listen: ":8080", r: req("127.0.0.1:8080", "", ""),
			status: 403, msg: "not a loopback address"},
		{name: "no token, LAN address", listen: "192.168.1.20:8080", r: req("192.168.1.20:8080", "", ""),
			status: 403, msg: "HINDSIGHT_API_TOKEN"},
		{name: "no token, a bearer does not help", listen: "0.0.0.0:8080", r: req("127.0.0.1:8080", "Bearer anything", ""),
			status: 403, msg: "--api-token"},
		{name: "no token, cross-site page", listen: "127.0.0.1:8080", r: req("127.0.0.1:8080", "", "http://evil.example"),
			status: 403, msg: "origin"},
		// A proxy may forward Host with the port the Origin's scheme implies.
		{name: "no token, same-origin page, default port in Host", listen: "127.0.0.1:8080", r: req("localhost:80", "", "http://localhost")},
		{name: "no token, same-origin IPv6 page, default port in Host", listen: "[::1]:8080", r: req("[::1]:80", "", "http://[::1]")},
		{name: "no token, other port", listen: "127.0.0.1:8080", r: req("localhost:81", "", "http://localhost"),
			status: 403, msg: "origin"},
		{name: "no token, https port for an http page", listen: "127.0.0.1:8080", r: req("localhost:443", "", "http://localhost"),
			status: 403, msg: "origin"},
		// Port 80 is the default of http only: an https page is another origin.
		{name: "no token, http port for an https page", listen: "127.0.0.1:8080", r: req("localhost:80", "", "https://localhost"),
			status: 403, msg: "origin"},
		{name: "no token, rebound host name", listen: "127.0.0.1:8080", r: req("evil.example:8080", "", ""),
			status: 403, msg: "loopback host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := WritePolicy(tc.token, tc.listen, tc.r)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("allowed, want %d", tc.status)
			}
			if err.Status != tc.status || !strings.Contains(err.Msg, tc.msg) || !strings.Contains(err.Challenge, tc.challenge) {
				t.Errorf("got %d %q (challenge %q), want %d containing %q (challenge %q)", err.Status, err.Msg, err.Challenge, tc.status, tc.msg, tc.challenge)
			}
			if tc.status == 403 && err.Challenge != "" {
				t.Errorf("403 carries a challenge %q", err.Challenge)
			}
		})
	}
}
