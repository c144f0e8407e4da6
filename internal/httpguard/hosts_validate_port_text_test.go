package httpguard

import (
	"net"
	"strings"
	"testing"
)

// TestValidateAllowedRefusesPortsNoRequestSpells: a port with leading zeros is a number
// from 1 to 65535, but Allows compares the entry's text with the Host header's, and no
// browser writes "0080": the entry allowed nothing. An entry of more than one colon that
// is no IPv6 address splits into no host and port at all, and allowed nothing either.
func TestValidateAllowedRefusesPortsNoRequestSpells(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		entry string
		want  string
	}{
		{"alerts.example:08443", "must be a port from 1 to 65535"},
		{"alerts.example:00080", "must be a port from 1 to 65535"},
		{"[::1]:0443", "must be a port from 1 to 65535"},
		{"alerts.example:80:80", "give a host name or host:port"},
	} {
		err := ValidateAllowed([]string{tc.entry})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"`+tc.entry+`"`) {
			t.Errorf("ValidateAllowed(%q) = %v, want an error naming the entry and saying %q", tc.entry, err, tc.want)
		}
	}
}

// TestAllowedIPv6AndTrailingDotEntriesAllowTheirHosts: the port check refuses none of
// the valid spellings of an address, and each allows the requests a browser makes to it.
func TestAllowedIPv6AndTrailingDotEntriesAllowTheirHosts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		entry string
		allow []string
		deny  []string
	}{
		{"[2001:db8::7]:8443", []string{"[2001:db8::7]:8443", "[2001:DB8::7]:8443"}, []string{"[2001:db8::7]:8444", "[2001:db8::7]"}},
		{"[2001:db8::7]", []string{"[2001:db8::7]:9999", "[2001:db8::7]:1234", "[2001:db8::7]"}, []string{"[2001:db8::8]:9999"}},
		{"2001:db8::7", []string{"[2001:db8::7]:1234"}, []string{"[2001:db8::8]:1234"}},
		{"alerts.example.:8443", []string{"alerts.example:8443", "alerts.example.:8443"}, []string{"alerts.example:8444"}},
		{"alerts.example:80", []string{"alerts.example", "alerts.example:80"}, []string{"alerts.example:8080"}},
		{"alerts.example:65535", []string{"alerts.example:65535"}, nil},
		{"alerts.example:1", []string{"alerts.example:1"}, nil},
	} {
		if err := ValidateAllowed([]string{tc.entry}); err != nil {
			t.Errorf("ValidateAllowed(%q) = %v, want accepted", tc.entry, err)
			continue
		}
		p := NewHosts("127.0.0.1:0", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9999}, []string{tc.entry})
		for _, h := range tc.allow {
			if !p.Allows(h) {
				t.Errorf("entry %q: Allows(%q) = false, want true", tc.entry, h)
			}
		}
		for _, h := range tc.deny {
			if p.Allows(h) {
				t.Errorf("entry %q: Allows(%q) = true, want false", tc.entry, h)
			}
		}
	}
}
