package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/hindsightdev/hindsight/rule"
)

// Defaults of the Config fields that say which secrets destinations may name.
const (
	// DefaultSecretEnvPrefix is Config.SecretEnvPrefix's default: a destination's
	// secret (or url_from) may name an environment variable whose name starts with it,
	// and no other. No flag's variable (HINDSIGHT_<FLAG>) starts with it, so that no
	// destination reads the daemon's configuration (TestNoFlagVariableIsADestinationSecret).
	DefaultSecretEnvPrefix = "HINDSIGHT_SECRET_"
	// DefaultMaxSecretBytes is Config.MaxSecretBytes's default. A signing key, a
	// routing key or a webhook URL is at most a few hundred bytes.
	DefaultMaxSecretBytes = 64 << 10
)

// LimitMaxSecretBytes is Config.MaxSecretBytes in hindsight_limit; each secret
// refused for being larger is counted as it reached.
const LimitMaxSecretBytes = "notify_max_secret_bytes"

// The flags that set the Config fields below, named in the reasons of the deliveries
// they refuse.
const (
	flagSecretEnvPrefix = "--notify-secret-env-prefix"
	flagSecretDir       = "--notify-secret-dir"
	flagMaxSecretBytes  = "--notify-max-secret-bytes"
)

// validateSecretOptions reports the mistakes of c's secret fields.
func (c *Config) validateSecretOptions() error {
	if c.SecretEnvPrefix == "" || strings.ContainsAny(c.SecretEnvPrefix, "=\x00") {
		return fmt.Errorf("secret environment variable prefix %q is not the start of a variable name (%s)", c.SecretEnvPrefix, flagSecretEnvPrefix)
	}
	for _, v := range c.ReservedEnv {
		if underPrefix(v, c.SecretEnvPrefix) {
			return fmt.Errorf("secret environment variable prefix %s covers %s, which configures the process: a destination could read it and send it where its writer likes; choose a prefix no flag's variable starts with, such as %s (%s)",
				c.SecretEnvPrefix, v, DefaultSecretEnvPrefix, flagSecretEnvPrefix)
		}
	}
	for _, d := range c.SecretDirs {
		if !filepath.IsAbs(d) || strings.ContainsRune(d, 0) {
			return fmt.Errorf("secret directory %q is not an absolute path (%s)", d, flagSecretDir)
		}
	}
	return nil
}

// underPrefix reports whether the variable name is one a destination may name under
// prefix: it starts with prefix, which alone is no name.
func underPrefix(name, prefix string) bool {
	return strings.HasPrefix(name, prefix) && len(name) > len(prefix)
}

// secret reads ref, without the whitespace around it (a file written by echo ends in a
// newline). One that is empty so is an error: taken, it would sign nothing, and the
// requests go unsigned.
//
// Whoever may write controls names ref, so only what the operator set aside for
// destinations may be read: an environment variable whose name starts with
// Config.SecretEnvPrefix and is none of Config.ReservedEnv, a regular file inside one
// of Config.SecretDirs (symbolic links resolved), at most Config.MaxSecretBytes either
// way. The process's own credentials (a cloud key, an API token, a service account's
// token file) are out of reach, though a pagerduty destination sends its secret in the
// body to a URL of the writer's choosing. An error never quotes the secret.
func (s *Stage) secret(ref *rule.SecretRef) ([]byte, error) {
	if ref.Env != "" {
		p := s.cfg.SecretEnvPrefix
		if !underPrefix(ref.Env, p) {
			return nil, fmt.Errorf("environment variable %s may not be named by a destination: only variables whose names start with %s may (%s)", ref.Env, p, flagSecretEnvPrefix)
		}
		if slices.Contains(s.cfg.ReservedEnv, ref.Env) {
			return nil, fmt.Errorf("environment variable %s may not be named by a destination: it configures the process (%s)", ref.Env, flagSecretEnvPrefix)
		}
		v := strings.TrimSpace(s.cfg.Getenv(ref.Env))
		if v == "" {
			return nil, fmt.Errorf("environment variable %s is empty, blank or unset", ref.Env)
		}
		if len(v) > s.cfg.MaxSecretBytes {
			s.m.limits.Reached(LimitMaxSecretBytes)
			return nil, fmt.Errorf("environment variable %s holds a secret larger than %d bytes (%s)", ref.Env, s.cfg.MaxSecretBytes, flagMaxSecretBytes)
		}
		return []byte(v), nil
	}
	b, err := s.readSecretFile(ref.File)
	if err != nil {
		return nil, err
	}
	if b = bytes.TrimSpace(b); len(b) == 0 {
		return nil, fmt.Errorf("file %s is empty or blank", ref.File)
	}
	return b, nil
}

// secretURLProblem is err, CheckURL's refusal of the URL read from ref (url_from), said
// without anything of the URL: CheckURL's own message quotes pieces of it (a scheme,
// url.Parse's "invalid port \":…\" after host", a refused host), and ref may name any
// secret under the prefix (another destination's signing key), which the reason would
// then hand to the undelivered topic, the console and the logs, where whoever writes
// destinations reads it. It names ref and the kind of problem only; errors.Is still
// finds the class (errURLScheme, …, errURLForbidden).
func secretURLProblem(ref *rule.SecretRef, err error) error {
	e := &secretURLError{ref: refName(ref), class: errors.New("is not a destination URL")}
	for _, c := range []error{errURLSyntax, errURLScheme, errURLNoHost, errURLUserInfo, errURLPort, errURLForbidden} {
		if errors.Is(err, c) {
			e.class = c
			break
		}
	}
	var fe *ForbiddenAddressError
	if errors.As(err, &fe) {
		e.kind = fe.Kind // one of forbiddenKind's words, not the address
	}
	return e
}

// secretURLError is a URL read from a secret reference refused by CheckURL.
type secretURLError struct {
	ref   string // refName's
	class error
	kind  string // a ForbiddenAddressError's Kind
}

func (e *secretURLError) Error() string {
	if e.kind != "" {
		return fmt.Sprintf("the URL read from %s (url_from) names an address that is %s (allow with --notify-allow-private)", e.ref, e.kind)
	}
	return fmt.Sprintf("the URL read from %s (url_from) %s", e.ref, e.class)
}

func (e *secretURLError) Unwrap() error { return e.class }

// refName names what ref reads, as reasons name it: "environment variable NAME" or
// "file PATH".
func refName(ref *rule.SecretRef) string {
	if ref.Env != "" {
		return "environment variable " + ref.Env
	}
	return "file " + ref.File
}

// secretFileTries is how many times readSecretFile resolves and opens a file it finds
// missing on the way.
const secretFileTries = 5

// secretFileRetryWait is readSecretFile's first wait between tries; each wait doubles,
// up to a millisecond (about 2 ms in all for a file that is missing).
const secretFileRetryWait = 200 * time.Microsecond

// readSecretFile reads the file name, which must resolve to a regular file inside one
// of Config.SecretDirs, of at most Config.MaxSecretBytes. It never blocks on what is
// not a regular file (a FIFO nobody writes, a terminal) nor reads one without end
// (/dev/zero): it opens without blocking and refuses all but regular files, and reads
// at most one byte past the bound.
//
// The file is resolved (secretPath), then the resolved path opened, some system calls
// later: a Kubernetes secret volume rotated in between (the kubelet writes a new
// timestamped directory, renames a new ..data link over the old and removes the old
// directory) leaves the resolved path gone. A file found missing anywhere on the way is
// therefore resolved and opened again, from the name, up to secretFileTries times: a
// rotation has the new ..data in place before it removes the old directory, so the next
// resolution finds the file. Even the kernel's own walk of the links at an open
// can lose that race (os.ReadFile of the link does, rarely). A file missing each time is
// missing.
func (s *Stage) readSecretFile(name string) ([]byte, error) {
	// A moment's wait between tries: a read slowed down (a loaded host) loses the race
	// to rotations that follow each other closely once more when it tries at once, in
	// the same stretch of CPU time.
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.RandomizationFactor = secretFileRetryWait, time.Millisecond, 0
	return backoff.Retry(context.Background(), func() ([]byte, error) {
		b, err := s.readSecretFileOnce(name)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, backoff.Permanent(err)
		}
		return b, err
	}, backoff.WithBackOff(bo), backoff.WithMaxTries(secretFileTries))
}

// readSecretFileOnce is one resolution and read of readSecretFile's.
func (s *Stage) readSecretFileOnce(name string) ([]byte, error) {
	path, err := s.secretPath(name)
	if err != nil {
		return nil, err
	}
	// Checked before the open, so that a device is not even opened, and again on what
	// was opened, in case the file was replaced between.
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if err := s.checkSecretFile(name, fi); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := s.checkSecretFile(name, fi); err != nil {
		return nil, err
	}
	limit := int64(s.cfg.MaxSecretBytes)
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit { // it grew since the Stat
		return nil, s.secretTooLarge(name)
	}
	return b, nil
}

// checkSecretFile refuses fi, the file name names, if it is not a regular file or
// larger than Config.MaxSecretBytes.
func (s *Stage) checkSecretFile(name string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("file %s is not a regular file (%s): a secret is read from a regular file only", name, fileKind(fi.Mode()))
	}
	if fi.Size() > int64(s.cfg.MaxSecretBytes) {
		return s.secretTooLarge(name)
	}
	return nil
}

func (s *Stage) secretTooLarge(name string) error {
	s.m.limits.Reached(LimitMaxSecretBytes)
	return fmt.Errorf("file %s is larger than a secret may be, %d bytes (%s)", name, s.cfg.MaxSecretBytes, flagMaxSecretBytes)
}

// fileKind names the type of a file that is not regular.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.Type().String()
}

// errNoSecretDir refuses every file: no directory was set aside for secrets.
var errNoSecretDir = errors.New("no directory is set aside for destinations' secret files")

// secretPath is the file name names with its symbolic links resolved, if both name
// itself (cleaned) and that are inside one of Config.SecretDirs (themselves resolved).
// A name outside them is refused without looking at the file system: a reason does not
// say whether a file the destination may not read exists.
func (s *Stage) secretPath(name string) (string, error) {
	dirs := s.cfg.SecretDirs
	if len(dirs) == 0 {
		return "", fmt.Errorf("file %s may not be named by a destination: %w (%s)", name, errNoSecretDir, flagSecretDir)
	}
	outside := fmt.Errorf("file %s may not be named by a destination: only files inside %s may (%s)", name, strings.Join(dirs, ", "), flagSecretDir)
	if !filepath.IsAbs(name) {
		return "", outside
	}
	clean := filepath.Clean(name)
	resolvedDirs := make([]string, 0, len(dirs))
	in := false
	for _, d := range dirs {
		d = filepath.Clean(d)
		rd, err := filepath.EvalSymlinks(d)
		if err != nil {
			rd = "" // a directory that is not there holds no secret
		}
		resolvedDirs = append(resolvedDirs, rd)
		in = in || inside(d, clean) || rd != "" && inside(rd, clean)
	}
	if !in {
		return "", outside
	}
	real, err := filepath.EvalSymlinks(clean)
	if err != nil {
		return "", err
	}
	for _, rd := range resolvedDirs {
		if rd != "" && inside(rd, real) {
			return real, nil
		}
	}
	return "", fmt.Errorf("file %s may not be named by a destination: it leads, through a symbolic link, outside %s (%s)", name, strings.Join(dirs, ", "), flagSecretDir)
}

// inside reports whether path is below dir, both clean and absolute.
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
