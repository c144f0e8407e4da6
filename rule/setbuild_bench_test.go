package rule_test

import (
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
)

// BenchmarkNewSet is building the whole index: 10× the rules must cost about 10× the
// time (ns/rule about flat). The shapes are benchWorkload's two and "skewed": global
// rules that share one equality anchor, or each have an evaluated anchor of their own
// (a pattern), or share a member of their in lists; each of those once cost time
// quadratic in the rules (a scan of the rules or anchors filed so far, per rule).
//
//	go test -run '^$' -bench NewSet -benchmem ./rule
func BenchmarkNewSet(b *testing.B) {
	for _, shape := range []string{"tenant", "global", "skewed"} {
		for _, n := range []int{1000, 10000} {
			var rules []*rule.Rule
			if shape == "skewed" {
				rules = skewedRules(b, n)
			} else {
				rules, _ = benchWorkload(shape, n)
			}
			b.Run(fmt.Sprintf("shape=%s/rules=%d", shape, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := rule.NewSet(rules); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/rule")
			})
		}
	}
}

func skewedRules(b *testing.B, n int) []*rule.Rule {
	rules := make([]*rule.Rule, n)
	for i := range rules {
		var when string
		switch i % 3 {
		case 0:
			when = fmt.Sprintf(`{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.actor.id","op":"!=","value":"u-%d"}]}`, i)
		case 1:
			when = fmt.Sprintf(`{"path":"$.actor.email","op":"matches","value":"^user%d@"}`, i)
		default:
			when = fmt.Sprintf(`{"path":"$.type","op":"in","value":["login.failed","t-%d"]}`, i)
		}
		rules[i] = mustRule(b, fmt.Sprintf(`{"id":"r-%d","scope":"*","threshold":1,"when":%s}`, i, when))
	}
	return rules
}

// BenchmarkApplyOneControl is what one control (a new version of one rule) costs the
// index of a Set holding N rules, each applied to the Set the previous one made, as live
// applies them:
//
//   - scope=customer: a customer's rule. Only that customer's index is rebuilt, so ns/op
//     must be about flat from 1,000 to 10,000 rules.
//
//   - scope=global: a global rule. The global index is rebuilt: linear in the global
//     rules (50 in the tenant shape, a fifth of all rules in the global shape).
//
//   - scope=all: NewSet over all the rules, what every control cost before With.
//
//     go test -run '^$' -bench ApplyOneControl -benchmem ./rule
func BenchmarkApplyOneControl(b *testing.B) {
	for _, shape := range []string{"tenant", "global"} {
		for _, n := range []int{1000, 10000} {
			rules, _ := benchWorkload(shape, n)
			base, err := rule.NewSet(rules)
			if err != nil {
				b.Fatal(err)
			}
			for _, scope := range []string{"customer", "global", "all"} {
				// New versions of up to 64 rules of the scope, applied in turn.
				var changes []*rule.Rule
				for _, r := range rules {
					if len(changes) < 64 && r.Global() == (scope == "global") {
						c := *r
						c.Version++
						changes = append(changes, &c)
					}
				}
				b.Run(fmt.Sprintf("shape=%s/rules=%d/scope=%s", shape, n, scope), func(b *testing.B) {
					s := base
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						var err error
						if scope == "all" {
							_, err = rule.NewSet(rules)
						} else {
							s, err = s.With([]*rule.Rule{changes[i%len(changes)]}, nil)
						}
						if err != nil {
							b.Fatal(err)
						}
						i++
					}
				})
			}
		}
	}
}
