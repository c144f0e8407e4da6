package console_test

import (
	"net/http/httptest"
	"testing"

	"github.com/hindsightdev/hindsight/console"
)

// TestReadPolicy: reads need the bearer token only when they are protected and there
// is a token to ask for; a console configured to protect reads without a token (no
// secret exists) lets them through rather than refusing every read with 401.
func TestReadPolicy(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, token, auth string
		protect           bool
		want              int // 0: allowed
	}{
		{name: "not protected, no token sent", token: "s3cret"},
		{name: "protected, right token", token: "s3cret", protect: true, auth: "Bearer s3cret"},
		{name: "protected, no token sent", token: "s3cret", protect: true, want: 401},
		{name: "protected, wrong token", token: "s3cret", protect: true, auth: "Bearer s3cre", want: 401},
		{name: "protected without a token configured", protect: true},
	} {
		r := httptest.NewRequest("GET", "http://127.0.0.1:8080/v1/console/rules", nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		err := console.ReadPolicy(c.token, c.protect, r)
		switch {
		case c.want == 0 && err != nil:
			t.Errorf("%s: refused %v, want allowed", c.name, err)
		case c.want != 0 && (err == nil || err.Status != c.want):
			t.Errorf("%s: %v, want %d", c.name, err, c.want)
		}
	}
}
