// Package ingest is Hindsight's Kafka edge (franz-go).
//
// Contract:
//   - Events: an EventConsumer reads the events topic in a consumer group (key = customer,
//     value = JSON, timestamp = event time), validates each record once and hands the
//     parsed document to a Handler, one partition's batch at a time and in offset order.
//     A record with no key or a value that is not JSON goes to the dead-letter topic with
//     headers naming the reason, topic, partition and offset, and is counted. Events are
//     read committed: an aborted transaction's are never handed over, an open one's when
//     it ends.
//   - Offsets: a record's offset is committed only after its batch was handled and every
//     record produced on its behalf (alerts, dead letters) was delivered or failed.
//   - Controls: a ControlReader reads the controls topic's one partition from the start
//     (direct assignment, not the group, so each instance has all rules; a topic of more
//     partitions is refused, at start or once one is added), decodes and
//     validates each control, reports when it has caught up with the topic as it was at
//     start, and publishes each control's outcome on the control-status topic.
//   - The embedded broker (kfake) serves the standard topics on loopback when no brokers
//     are configured.
package ingest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// KafkaConfig says how to reach the brokers. The zero value (after EnsureDefaults)
// connects to nobody: callers that may start the embedded broker check Brokers first.
type KafkaConfig struct {
	// Brokers are seed brokers, host:port. No default.
	Brokers []string
	// ClientID names the client to the brokers. Default "hindsight".
	ClientID string
	// SASLMechanism is "" (none), "plain", "scram-sha-256" or "scram-sha-512".
	SASLMechanism string
	// SASLUser and SASLPassword are the SASL credentials.
	SASLUser     string
	SASLPassword string
	// TLS enables TLS; it is implied by any of the TLS* fields below. Default off.
	TLS bool
	// TLSCAFile is a PEM bundle of CAs to trust instead of the system pool.
	TLSCAFile string
	// TLSCertFile and TLSKeyFile are a PEM client certificate and key (mutual TLS).
	TLSCertFile string
	TLSKeyFile  string
	// TLSServerName overrides the name checked in the brokers' certificates.
	TLSServerName string
	// TLSInsecureSkipVerify disables certificate verification (testing only).
	TLSInsecureSkipVerify bool
	// MetadataMaxAge is how stale a client's view of the topics' partitions may grow
	// (at least 5 s). A consumer group's leader assigns the partitions its view lists,
	// so partitions added to a topic are read within it. Default DefaultMetadataMaxAge.
	MetadataMaxAge time.Duration
}

// DefaultMetadataMaxAge is KafkaConfig.MetadataMaxAge's default: franz-go's own, 5
// minutes, left partitions added to the events topic unread that long.
const DefaultMetadataMaxAge = 30 * time.Second

// EnsureDefaults fills unset fields with their documented defaults.
func (c *KafkaConfig) EnsureDefaults() {
	if c.ClientID == "" {
		c.ClientID = "hindsight"
	}
	var bs []string
	for _, b := range c.Brokers {
		for _, s := range strings.Split(b, ",") {
			if s = strings.TrimSpace(s); s != "" {
				bs = append(bs, s)
			}
		}
	}
	c.Brokers = bs
	c.SASLMechanism = strings.ToLower(c.SASLMechanism)
}

func (c *KafkaConfig) tlsEnabled() bool {
	return c.TLS || c.TLSCAFile != "" || c.TLSCertFile != "" || c.TLSKeyFile != "" ||
		c.TLSServerName != "" || c.TLSInsecureSkipVerify
}

// Validate reports configuration mistakes; it does not contact the brokers.
func (c *KafkaConfig) Validate() error {
	var errs []error
	for _, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Errorf("broker %q is not host:port: %w", b, err))
		}
	}
	switch c.SASLMechanism {
	case "":
		if c.SASLUser != "" || c.SASLPassword != "" {
			errs = append(errs, errors.New("SASL user/password given without a SASL mechanism (plain, scram-sha-256, scram-sha-512)"))
		}
	case "plain", "scram-sha-256", "scram-sha-512":
		if c.SASLUser == "" {
			errs = append(errs, fmt.Errorf("SASL %s needs a user", c.SASLMechanism))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown SASL mechanism %q: use plain, scram-sha-256 or scram-sha-512", c.SASLMechanism))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("TLS client certificate and key must be given together"))
	}
	return errors.Join(errs...)
}

// Opts turns the configuration into franz-go client options (seed brokers, SASL, TLS).
func (c *KafkaConfig) Opts() ([]kgo.Opt, error) {
	if len(c.Brokers) == 0 {
		return nil, errors.New("ingest: no brokers configured")
	}
	age := c.MetadataMaxAge
	if age <= 0 {
		age = DefaultMetadataMaxAge
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ClientID(c.ClientID), kgo.MetadataMaxAge(age)}
	if c.tlsEnabled() {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	var mech sasl.Mechanism
	switch c.SASLMechanism {
	case "plain":
		mech = plain.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsMechanism()
	case "scram-sha-256":
		mech = scram.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsSha256Mechanism()
	case "scram-sha-512":
		mech = scram.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsSha512Mechanism()
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

func (c *KafkaConfig) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName, InsecureSkipVerify: c.TLSInsecureSkipVerify} //nolint:gosec // opt-in for test clusters
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("ingest: reading TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ingest: TLS CA file %s holds no PEM certificate", c.TLSCAFile)
		}
		tc.RootCAs = pool
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("ingest: loading TLS client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// ErrNoBroker is Ping's error when no seed broker answered.
var ErrNoBroker = errors.New("no broker answered")

// Ping checks, within timeout, that a seed broker of c answers: commands that only
// talk to Kafka say at once that there is none, rather than waiting out their own
// bound.
//
// Each seed broker is asked at once, by a client of its own: one client tries its seeds
// in turn under the one deadline, and a broker that hangs (accepts, never answers) took
// all of it from those listed after it. When ctx ends first the error is its cause, not
// ErrNoBroker.
func (c *KafkaConfig) Ping(ctx context.Context, timeout time.Duration) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make([]error, len(c.Brokers))
	answered := false
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, b := range c.Brokers {
		wg.Go(func() {
			err := c.pingOne(ctx, b)
			mu.Lock()
			defer mu.Unlock()
			if errs[i] = err; err == nil && !answered {
				answered = true
				cancel() // the others need not go on
			}
		})
	}
	wg.Wait()
	if answered {
		return nil
	}
	if parent.Err() != nil {
		// The caller stopped asking (SIGTERM while starting): no broker was found
		// wanting, and the brokers were not waited on for timeout.
		return fmt.Errorf("pinging the brokers at %s: %w", strings.Join(c.Brokers, ","), context.Cause(parent))
	}
	if err := errors.Join(errs...); err != nil || len(c.Brokers) == 0 {
		return fmt.Errorf("%w at %s within %v: %v", ErrNoBroker, strings.Join(c.Brokers, ","), timeout, err)
	}
	return nil
}

// pingOne asks broker alone, with c's options.
func (c *KafkaConfig) pingOne(ctx context.Context, broker string) error {
	cl, err := c.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.Ping(ctx)
}

// NewClient returns a franz-go client for c plus extra options.
func (c *KafkaConfig) NewClient(extra ...kgo.Opt) (*kgo.Client, error) {
	opts, err := c.Opts()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("ingest: creating Kafka client: %w", err)
	}
	return cl, nil
}

// Topics names the topics of the data contracts (docs/architecture.md).
type Topics struct {
	// Events carries customer events. Default "events".
	Events string
	// Controls carries rule upserts and deletes. Default "controls".
	Controls string
	// Alerts receives alert records. Default "alerts".
	Alerts string
	// DeadLetters receives events that could not be decoded. Default "events.dlq".
	DeadLetters string
	// ControlStatus receives each control's outcome. Default "controls.status".
	ControlStatus string
	// Undelivered receives the alerts the notify stage gave up delivering, with why
	// (contract.Undelivered). Default "alerts.undelivered".
	Undelivered string
}

// EnsureDefaults fills unset topic names.
func (t *Topics) EnsureDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&t.Events, "events")
	def(&t.Controls, "controls")
	def(&t.Alerts, "alerts")
	def(&t.DeadLetters, "events.dlq")
	def(&t.ControlStatus, "controls.status")
	def(&t.Undelivered, "alerts.undelivered")
}

// Validate checks that the topics are set and distinct.
func (t *Topics) Validate() error {
	seen := map[string]string{}
	for _, f := range []struct{ what, name string }{
		{"events", t.Events}, {"controls", t.Controls}, {"alerts", t.Alerts},
		{"dead-letter", t.DeadLetters}, {"control-status", t.ControlStatus}, {"undelivered", t.Undelivered},
	} {
		if f.name == "" {
			return fmt.Errorf("%s topic is not set", f.what)
		}
		if other, dup := seen[f.name]; dup {
			return fmt.Errorf("%s and %s topics are both %q", other, f.what, f.name)
		}
		seen[f.name] = f.what
	}
	return nil
}

// All lists the topic names.
func (t *Topics) All() []string {
	return []string{t.Events, t.Controls, t.Alerts, t.DeadLetters, t.ControlStatus, t.Undelivered}
}
