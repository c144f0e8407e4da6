package jsonpath

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
)

// benchDocs are audit-like events for internal benchmarks; the internal test
// package cannot import internal/workload (it imports rule, which imports us).
func benchDocs() [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([][]byte, 1024)
	for i := range out {
		ev := map[string]any{
			"id": fmt.Sprintf("evt-%d", i), "type": []string{"login.failed", "file.viewed"}[rng.IntN(2)],
			"time": "2026-11-23T00:00:01.23Z", "customer": fmt.Sprintf("c-%04d", rng.IntN(100)),
			"actor": map[string]any{"id": "u-12", "email": "user12@example.com", "roles": []string{"admin", "member"}[:1+rng.IntN(2)],
				"ip": "10.1.2.3", "geo": map[string]any{"country": "DE", "city": "Berlin"}},
			"target":  map[string]any{"type": "file", "id": "r-1234", "name": "payroll.xlsx"},
			"client":  map[string]any{"app": "web", "version": "1.2.3", "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"},
			"outcome": "success", "severity": 1 + rng.IntN(5),
			"risk": map[string]any{"score": float64(rng.IntN(10000)) / 100, "signals": []string{"tor"}},
			"tags": []string{"sso", "mfa"}, "bytes": rng.IntN(50_000_000),
			"session": map[string]any{"id": "s-abc123", "mfa": rng.IntN(2) == 0, "duration_ms": rng.IntN(3_600_000)},
		}
		out[i], _ = json.Marshal(ev)
	}
	return out
}
