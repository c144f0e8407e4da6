package notify

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPrefixCoveringReservedVariablesIsRefused: the default prefix HINDSIGHT_SECRET_
// was chosen so that no flag's variable (HINDSIGHT_<FLAG>) falls under it, but a prefix
// the operator gives was not checked the same way: --notify-secret-env-prefix
// HINDSIGHT_ (the natural "our variables" choice), HINDSIGHT_S or H was accepted, and a
// destination could name HINDSIGHT_SASL_PASSWORD (the Kafka password, which
// --sasl-password's help tells operators to pass as that variable) and send it to a URL
// of its writer's choosing (pagerduty's routing_key). The flags are cmd/hindsight's,
// which gives their variables as Config.ReservedEnv (TestNotifySecretPrefixCovering-
// FlagVariablesIsRefused there): a prefix under which one falls is refused, naming the
// flag and the variable, and a reference to one is refused by name.
func TestPrefixCoveringReservedVariablesIsRefused(t *testing.T) {
	reserved := []string{"HINDSIGHT_API_TOKEN", "HINDSIGHT_NOTIFY_SECRET_DIR", "HINDSIGHT_SASL_PASSWORD"}
	env := map[string]string{"HINDSIGHT_SASL_PASSWORD": "kafka-pa55word", "HINDSIGHT_SECRET_K": "k3y"}
	for _, tc := range []struct{ prefix, covered string }{
		{"HINDSIGHT_", "HINDSIGHT_API_TOKEN"},
		{"HINDSIGHT_S", "HINDSIGHT_SASL_PASSWORD"},
		{"H", "HINDSIGHT_API_TOKEN"},
		{"HINDSIGHT_SASL_", "HINDSIGHT_SASL_PASSWORD"},
	} {
		c := Config{SecretEnvPrefix: tc.prefix, ReservedEnv: reserved}
		err := c.validateSecretOptions()
		if err == nil || !strings.Contains(err.Error(), "--notify-secret-env-prefix") || !strings.Contains(err.Error(), tc.covered) {
			t.Errorf("--notify-secret-env-prefix %s, reserved %v: %v, want refused naming the flag and %s", tc.prefix, reserved, err, tc.covered)
		}
		cfg := Config{Kafka: ingest.KafkaConfig{Brokers: []string{"127.0.0.1:1"}}, SecretEnvPrefix: tc.prefix, ReservedEnv: reserved}
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.covered) {
			t.Errorf("--notify-secret-env-prefix %s: New: %v, want refused naming %s", tc.prefix, err, tc.covered)
		}
	}

	// A prefix no reserved variable falls under is taken; the prefix alone is no name,
	// so a prefix that is a reserved variable whole covers none.
	for _, prefix := range []string{DefaultSecretEnvPrefix, "ACME_", "HINDSIGHT_SASL_PASSWORD"} {
		c := Config{SecretEnvPrefix: prefix, ReservedEnv: reserved}
		if err := c.validateSecretOptions(); err != nil {
			t.Errorf("--notify-secret-env-prefix %s: %v", prefix, err)
		}
	}

	// Behind the check: a reserved variable is never read, whatever the prefix.
	s := secretStage(t, Config{ReservedEnv: reserved}, env, nil)
	if v, err := s.secret(&rule.SecretRef{Env: "HINDSIGHT_SECRET_K"}); err != nil || string(v) != "k3y" {
		t.Errorf("HINDSIGHT_SECRET_K: %q, %v", v, err)
	}
	s.cfg.SecretEnvPrefix = "HINDSIGHT_" // as if the check were skipped
	v, err := s.secret(&rule.SecretRef{Env: "HINDSIGHT_SASL_PASSWORD"})
	if err == nil {
		t.Fatalf("a destination reads HINDSIGHT_SASL_PASSWORD (%q) as its secret", v)
	}
	if want := "environment variable HINDSIGHT_SASL_PASSWORD may not be named by a destination: it configures the process (--notify-secret-env-prefix)"; err.Error() != want {
		t.Errorf("HINDSIGHT_SASL_PASSWORD: %v, want %s", err, want)
	}
}
