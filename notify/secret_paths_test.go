package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/rule"
)

// secretStage is a stage (not run) reading secrets as cfg says, with env as its
// environment.
func secretStage(t *testing.T, cfg Config, env map[string]string, reg *prometheus.Registry) *Stage {
	t.Helper()
	cfg.Kafka = ingest.KafkaConfig{Brokers: []string{"127.0.0.1:1"}}
	cfg.Getenv = func(k string) string { return env[k] }
	if reg != nil {
		cfg.Registerer = reg
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.sender.Close)
	return s
}

func writeSecret(t *testing.T, path, v string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestSecretFilesOnlyFromSecretDirs: a file reference is read only when it resolves,
// its symbolic links followed, to a regular file inside a --notify-secret-dir (itself
// resolved); a Kubernetes secret volume (key -> ..data/key, ..data -> a timestamped
// directory) reads; anything else is refused with a reason naming the flag, without
// the secret.
func TestSecretFilesOnlyFromSecretDirs(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "notify-secrets")
	writeSecret(t, filepath.Join(dir, "plain"), "S3CRET-plain\n")
	writeSecret(t, filepath.Join(dir, "..2026_01_01", "k8s"), "S3CRET-k8s")
	symlink(t, "..2026_01_01", filepath.Join(dir, "..data"))
	symlink(t, filepath.Join("..data", "k8s"), filepath.Join(dir, "k8s"))
	writeSecret(t, filepath.Join(root, "outside"), "S3CRET-outside")
	symlink(t, filepath.Join(root, "outside"), filepath.Join(dir, "escape"))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeSecret(t, filepath.Join(dir, "sub", "nested"), "S3CRET-nested")
	link := filepath.Join(root, "link-to-dir") // the configured directory is a link
	symlink(t, dir, link)

	s := secretStage(t, Config{SecretDirs: []string{link}}, nil, nil)
	for _, c := range []struct {
		file, want, refused string
	}{
		{file: filepath.Join(link, "plain"), want: "S3CRET-plain"},
		{file: filepath.Join(dir, "plain"), want: "S3CRET-plain"}, // the directory as resolved
		{file: filepath.Join(link, "k8s"), want: "S3CRET-k8s"},
		{file: filepath.Join(link, "sub", "nested"), want: "S3CRET-nested"},
		{file: filepath.Join(link, "sub", "..", "plain"), want: "S3CRET-plain"},
		{file: filepath.Join(link, "escape"), refused: "symbolic link"},
		{file: link + "/../outside", refused: "only files inside"},
		{file: filepath.Join(root, "outside"), refused: "only files inside"},
		{file: "plain", refused: "only files inside"},
		{file: link, refused: "only files inside"},
		{file: filepath.Join(link, "sub"), refused: "not a regular file (a directory)"},
		{file: filepath.Join(link, "missing"), refused: "no such file"},
	} {
		got, err := s.secret(&rule.SecretRef{File: c.file})
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("file %s: %v, want %q", c.file, err, c.want)
		case c.refused == "" && string(got) != c.want:
			t.Errorf("file %s: %q, want %q", c.file, got, c.want)
		case c.refused != "" && err == nil:
			t.Errorf("file %s: read %q, want it refused (%s)", c.file, got, c.refused)
		case c.refused != "" && !strings.Contains(err.Error(), c.refused):
			t.Errorf("file %s: %v, want the reason to say %q", c.file, err, c.refused)
		case err != nil && strings.Contains(err.Error(), "S3CRET-"):
			t.Errorf("file %s: the reason quotes the secret: %v", c.file, err)
		case c.refused == "only files inside" && !strings.Contains(err.Error(), "--notify-secret-dir"):
			t.Errorf("file %s: %v, want the reason to name --notify-secret-dir", c.file, err)
		}
	}

	// No directory (the default): every file is refused, naming the flag.
	none := secretStage(t, Config{}, nil, nil)
	if _, err := none.secret(&rule.SecretRef{File: filepath.Join(dir, "plain")}); err == nil || !strings.Contains(err.Error(), "--notify-secret-dir") {
		t.Errorf("a file with no --notify-secret-dir: %v, want it refused naming the flag", err)
	}
}

// TestSecretFileNotRegularIsRefusedAtOnce: a device is refused before it is read
// (/dev/zero is endless), whatever directory was set aside.
func TestSecretFileNotRegularIsRefusedAtOnce(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Fatal("no /dev/zero:", err)
	}
	s := secretStage(t, Config{SecretDirs: []string{"/dev"}}, nil, nil)
	start := time.Now()
	_, err := s.secret(&rule.SecretRef{File: "/dev/zero"})
	if err == nil || !strings.Contains(err.Error(), "not a regular file (a character device)") {
		t.Errorf("/dev/zero: %v, want it refused as a character device", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing /dev/zero took %s", d)
	}
}

// TestSecretSizeBound: a secret of --notify-max-secret-bytes reads; one byte more,
// from a file or the environment, is refused naming the flag and counted.
func TestSecretSizeBound(t *testing.T) {
	dir := t.TempDir()
	writeSecret(t, filepath.Join(dir, "fits"), "12345678")
	writeSecret(t, filepath.Join(dir, "over"), "123456789")
	writeSecret(t, filepath.Join(dir, "spaced"), "12345678\n") // the newline counts: bytes read
	env := map[string]string{"HINDSIGHT_SECRET_FITS": "12345678", "HINDSIGHT_SECRET_OVER": "123456789"}
	reg := prometheus.NewRegistry()
	s := secretStage(t, Config{SecretDirs: []string{dir}, MaxSecretBytes: 8}, env, reg)
	if v := promtest.Value(t, reg, "hindsight_limit", "name", LimitMaxSecretBytes); v != 8 {
		t.Errorf("hindsight_limit{name=%q} = %v, want 8", LimitMaxSecretBytes, v)
	}
	for _, ref := range []rule.SecretRef{{File: filepath.Join(dir, "fits")}, {Env: "HINDSIGHT_SECRET_FITS"}} {
		if got, err := s.secret(&ref); err != nil || string(got) != "12345678" {
			t.Errorf("%s (8 bytes, the bound): %q, %v", ref.String(), got, err)
		}
	}
	over := []rule.SecretRef{{File: filepath.Join(dir, "over")}, {File: filepath.Join(dir, "spaced")}, {Env: "HINDSIGHT_SECRET_OVER"}}
	for _, ref := range over {
		_, err := s.secret(&ref)
		if err == nil || !strings.Contains(err.Error(), "--notify-max-secret-bytes") || strings.Contains(err.Error(), "1234") {
			t.Errorf("%s (9 bytes, over the bound of 8): %v, want it refused naming --notify-max-secret-bytes", ref.String(), err)
		}
	}
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", LimitMaxSecretBytes); n != float64(len(over)) {
		t.Errorf("hindsight_limit_reached_total{name=%q} = %v, want %d", LimitMaxSecretBytes, n, len(over))
	}
}

// TestSecretEnvOnlyWithThePrefix: a destination may name only the environment
// variables of --notify-secret-env-prefix (HINDSIGHT_SECRET_ by default); any other,
// the prefix alone included, is refused naming the flag, without its value.
func TestSecretEnvOnlyWithThePrefix(t *testing.T) {
	env := map[string]string{"HINDSIGHT_SECRET_PD": "pd-key", "HINDSIGHT_SECRET_": "bare", "AWS_SECRET_ACCESS_KEY": "aws-key",
		"HINDSIGHT_API_TOKEN": "api-token", "ACME_HOOK": "acme-key"}
	for _, c := range []struct {
		prefix string
		name   string
		want   string // "" refused
	}{
		{"", "HINDSIGHT_SECRET_PD", "pd-key"},
		{"", "HINDSIGHT_SECRET_", ""},
		{"", "AWS_SECRET_ACCESS_KEY", ""},
		{"", "HINDSIGHT_API_TOKEN", ""},
		{"", "hindsight_notify_PD", ""},
		{"ACME_", "ACME_HOOK", "acme-key"},
		{"ACME_", "HINDSIGHT_SECRET_PD", ""},
	} {
		s := secretStage(t, Config{SecretEnvPrefix: c.prefix}, env, nil)
		got, err := s.secret(&rule.SecretRef{Env: c.name})
		switch {
		case c.want != "" && (err != nil || string(got) != c.want):
			t.Errorf("prefix %q, env %s: %q, %v; want %q", c.prefix, c.name, got, err, c.want)
		case c.want == "" && err == nil:
			t.Errorf("prefix %q, env %s: read %q, want it refused", c.prefix, c.name, got)
		case c.want == "" && (!strings.Contains(err.Error(), "--notify-secret-env-prefix") || env[c.name] != "" && strings.Contains(err.Error(), env[c.name])):
			t.Errorf("prefix %q, env %s: %v; want the reason to name --notify-secret-env-prefix, not the value", c.prefix, c.name, err)
		}
	}
}

// TestSecretOptionsValidated: a relative secret directory (it would depend on the
// working directory) and a prefix no variable name starts with are refused at the
// start, naming their flags.
func TestSecretOptionsValidated(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		flag string
	}{
		{Config{SecretDirs: []string{"secrets"}}, "--notify-secret-dir"},
		{Config{SecretDirs: []string{""}}, "--notify-secret-dir"},
		{Config{SecretEnvPrefix: "A=B"}, "--notify-secret-env-prefix"},
	} {
		c.cfg.EnsureDefaults()
		if err := c.cfg.ValidateOptions(); err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("%+v: %v, want an error naming %s", c.cfg.SecretDirs, err, c.flag)
		}
	}
}
