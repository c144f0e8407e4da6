package httpguard

import (
	"net"
	"strings"
	"testing"
)

func TestValidateAllowedRefusesEntriesThatCouldAllowNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		entry string
		want  string // "" when the entry is accepted
	}{
		{"alerts.example", ""},
		{"alerts.example:8080", ""},
		{"ALERTS.example.:443", ""},
		{"[::1]:9090", ""},
		{"::1", ""},
		{"10.0.0.7", ""},
		{"*", ""},
		{"alerts.example:notaport", "must be a port from 1 to 65535"},
		{"alerts.example:", "must be a port from 1 to 65535"},
		{"alerts.example:0", "must be a port from 1 to 65535"},
		{"alerts.example:65536", "must be a port from 1 to 65535"},
		{"alerts.example:-1", "must be a port from 1 to 65535"},
		{":8080", "give a host name before the port"},
		{"https://alerts.example/", "without scheme or path"},
		{"", "without scheme or path"},
	} {
		err := ValidateAllowed([]string{tc.entry})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("ValidateAllowed(%q) = %v, want accepted", tc.entry, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"`+tc.entry+`"`)):
			t.Errorf("ValidateAllowed(%q) = %v, want an error naming the entry and saying %q", tc.entry, err, tc.want)
		}
	}
}

func TestAllowedPortEntryAllowsThatPortOnly(t *testing.T) {
	t.Parallel()
	if err := ValidateAllowed([]string{"alerts.example:8443"}); err != nil {
		t.Fatal(err)
	}
	p := NewHosts("127.0.0.1:0", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9999}, []string{"alerts.example:8443"})
	for header, want := range map[string]bool{
		"alerts.example:8443": true,
		"alerts.example:8444": false,
		"alerts.example":      false,
		"ALERTS.EXAMPLE:8443": true,
	} {
		if got := p.Allows(header); got != want {
			t.Errorf("Allows(%q) = %v, want %v", header, got, want)
		}
	}
}
