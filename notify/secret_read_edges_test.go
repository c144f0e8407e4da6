package notify

import (
	"testing"

	"github.com/hindsightdev/hindsight/rule"
)

// TestSecretEnvIsTrimmedAndBlankIsRefused: a variable set from a file (export
// X="$(cat key)" keeps nothing, but env files and Kubernetes' env from a secret keep a
// trailing newline) signs with the key, not the key and its newline; and one holding
// only whitespace is refused rather than taken as a key that signs nothing the
// receiver could check. Dropping the trim in Stage.secret went unnoticed.
func TestSecretEnvIsTrimmedAndBlankIsRefused(t *testing.T) {
	env := map[string]string{"HINDSIGHT_SECRET_NL": "k3y\n", "HINDSIGHT_SECRET_BLANK": " \t\n"}
	s := secretStage(t, Config{}, env, nil)
	if v, err := s.secret(&rule.SecretRef{Env: "HINDSIGHT_SECRET_NL"}); err != nil || string(v) != "k3y" {
		t.Errorf("HINDSIGHT_SECRET_NL (\"k3y\\n\"): %q, %v, want \"k3y\"", v, err)
	}
	v, err := s.secret(&rule.SecretRef{Env: "HINDSIGHT_SECRET_BLANK"})
	if want := "environment variable HINDSIGHT_SECRET_BLANK is empty, blank or unset"; err == nil || err.Error() != want {
		t.Errorf("HINDSIGHT_SECRET_BLANK (whitespace only): %q, %v, want refused: %s", v, err, want)
	}
}
