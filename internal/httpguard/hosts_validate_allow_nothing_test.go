package httpguard

import (
	"net"
	"strings"
	"testing"
)

// TestAllowedEntryThatMatchesNoBrowserHostIsRefused: Allows compares an entry's text with
// the Host header a browser writes, and a browser writes a wildcard's name, an
// internationalized name and a zoned IPv6 address otherwise than the entry (the name
// it asked for, its punycode, the address without its zone): each entry was accepted
// and allowed nothing, so the operator got 403s from a host they had listed.
func TestAllowedEntryThatMatchesNoBrowserHostIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		entry string
		want  string
	}{
		{"*.alerts.example", "only * alone"},
		{"*:8443", "only * alone"},
		{"alerts.*", "only * alone"},
		{"bücher.example", "xn--"},
		{"bücher.example:8443", "xn--"},
		{"fe80::1%eth0", "zone"},
		{"[fe80::1%eth0]:8443", "zone"},
		// A dot or empty brackets name no host: the entry equalled only a request
		// without a Host header, which no browser sends.
		{".", "give a host name"},
		{"[]", "give a host name"},
		{".:8443", "give a host name"},
	} {
		err := ValidateAllowed([]string{tc.entry})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"`+tc.entry+`"`) {
			t.Errorf("ValidateAllowed(%q) = %v, want an error naming the entry and saying %q", tc.entry, err, tc.want)
		}
	}
}

// TestAllowedIPv6EntryAllowsItsAddressHoweverWritten: a browser writes an IPv6 address
// in its shortest form ([2001:db8::7]), so an entry writing it otherwise
// (2001:db8:0:0::7, leading zeros, an IPv4 tail) was accepted and allowed nothing.
func TestAllowedIPv6EntryAllowsItsAddressHoweverWritten(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		entry string
		allow []string
		deny  []string
	}{
		{"2001:db8:0:0::7", []string{"[2001:db8::7]:1234", "[2001:db8::7]"}, []string{"[2001:db8::8]:1234"}},
		{"[2001:0db8:0000::0007]:8443", []string{"[2001:db8::7]:8443"}, []string{"[2001:db8::7]:8444"}},
		{"::ffff:10.0.0.7", []string{"[::ffff:a00:7]:1234", "10.0.0.7:1234"}, []string{"[::ffff:a00:8]:1234"}},
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

// TestAllowedEntriesAroundSpacesAreTheirHosts: --allowed-hosts "a.example, b.example"
// gives " b.example" (the flag splits at commas only), which normHost would have
// matched as b.example, and ValidateAllowed refused it as if it held a path, so the
// daemon did not start; " *" was no wildcard.
func TestAllowedEntriesAroundSpacesAreTheirHosts(t *testing.T) {
	t.Parallel()
	entries := []string{"alerts.example", " proxy.example:8443", "\tother.example "}
	if err := ValidateAllowed(entries); err != nil {
		t.Fatalf("ValidateAllowed(%q) = %v, want accepted", entries, err)
	}
	p := NewHosts("127.0.0.1:0", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9999}, entries)
	for header, want := range map[string]bool{
		"alerts.example":      true,
		"proxy.example:8443":  true,
		"proxy.example:8444":  false,
		"other.example:1234":  true,
		"elsewhere.example:1": false,
	} {
		if got := p.Allows(header); got != want {
			t.Errorf("Allows(%q) = %v, want %v", header, got, want)
		}
	}
	if err := ValidateAllowed([]string{" *"}); err != nil {
		t.Fatalf(`ValidateAllowed(" *") = %v, want accepted`, err)
	}
	star := NewHosts("127.0.0.1:0", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9999}, []string{" *"})
	if !star.Allows("anything.example:1") {
		t.Errorf(`entry " *": Allows("anything.example:1") = false, want true (any host)`)
	}
	if err := ValidateAllowed([]string{"alerts .example"}); err == nil {
		t.Errorf(`ValidateAllowed("alerts .example") = nil, want refused: a space inside a name`)
	}
}
