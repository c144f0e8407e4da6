package rule_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// residualLeaves are tests that share paths and operands, so that one scope's rules
// share leaves, equality groups and ranges, and the anchor a rule is filed under is
// sometimes the first of its conjuncts and sometimes not: the matcher skips a
// candidate's anchor leaf, and only that one.
var residualLeaves = []string{
	`{"path":"$.type","op":"==","value":"login"}`,
	`{"path":"$.type","op":"==","value":"logout"}`,
	`{"path":"$.type","op":"in","value":["login","export"]}`,
	`{"path":"$.n","op":"==","value":1}`,
	`{"path":"$.n","op":"==","value":-0}`,
	`{"path":"$.n","op":"==","value":1.0}`,
	`{"path":"$.n","op":">","value":0}`,
	`{"path":"$.n","op":"<=","value":1}`,
	`{"path":"$.n","op":">=","value":1e300}`,
	`{"path":"$.n","op":"!=","value":1}`,
	`{"path":"$.tags[*]","op":"==","value":"a"}`,
	`{"path":"$.tags","op":"contains","value":"b"}`,
	`{"path":"$.s","op":"matches","value":"^x"}`,
	`{"path":"$.s","op":"<","value":"m"}`,
	`{"path":"$.flag","op":"exists"}`,
	`{"path":"$.flag","op":"==","value":true}`,
	`{"path":"$.z","op":"==","value":null}`,
}

var residualEvents = []string{
	`{"type":"login","n":1,"tags":["a","b"],"s":"xa","flag":true,"z":null}`,
	`{"type":"login","n":1.0,"s":"q"}`,
	`{"type":"login","n":-0,"tags":["b"]}`,
	`{"type":"login","n":0,"flag":false}`,
	`{"type":"logout","n":1e400,"s":"a"}`,
	`{"type":"export","n":-1e400,"tags":["a","a"],"flag":true}`,
	`{"type":"export","n":2,"s":"xz","z":1}`,
	`{"type":"login","n":"1","tags":"a"}`,
	`{"type":["login"],"n":[1]}`,
	`{"n":1e300,"flag":null}`,
	`{}`,
	`[]`,
}

// randomResidualCond is a condition over residualLeaves: mostly conjunctions of two to
// four leaves (the shape whose anchor leaf is skipped), with single leaves, any, not
// and conjunctions nested in them.
func randomResidualCond(r *rand.Rand, depth int) string {
	leaf := func() string { return residualLeaves[r.IntN(len(residualLeaves))] }
	kids := func(n int) string {
		out := make([]string, n)
		for i := range out {
			if depth < 2 && r.IntN(4) == 0 {
				out[i] = randomResidualCond(r, depth+1)
			} else {
				out[i] = leaf()
			}
		}
		return strings.Join(out, ",")
	}
	switch r.IntN(8) {
	case 0:
		return leaf()
	case 1:
		return `{"any":[` + kids(1+r.IntN(3)) + `]}`
	case 2:
		return `{"not":` + leaf() + `}`
	default:
		return `{"all":[` + kids(1+r.IntN(4)) + `]}`
	}
}

// The index agrees with each rule evaluated on its own when rules of several scopes
// share leaves: a leaf that is one rule's anchor is another's ordinary conjunct, an
// equality anchor of one scope is tested again in another, and numbers are -0, 1.0,
// 1e400 against operands 1, -0 and 1e300.
func TestResidualAgreesWithOracle(t *testing.T) {
	docs := make([]*jsonpath.Document, len(residualEvents))
	for i, ev := range residualEvents {
		docs[i] = jsonpath.NewDocument()
		if err := docs[i].Reset([]byte(ev)); err != nil {
			t.Fatalf("event %s: %v", ev, err)
		}
	}
	matched := 0
	for seed := uint64(1); seed <= 40; seed++ {
		r := rand.New(rand.NewPCG(seed, 19))
		var rules []*rule.Rule
		for i := range 60 {
			scope := []string{"*", "c-1", "c-2"}[i%3]
			rules = append(rules, mustRule(t, fmt.Sprintf(`{"id":"r-%d","scope":%q,"version":1,"threshold":1,"when":%s}`, i, scope, randomResidualCond(r, 0))))
		}
		set, err := rule.NewSet(rules)
		if err != nil {
			t.Fatal(err)
		}
		m := set.NewMatcher()
		for i, doc := range docs {
			for _, customer := range []string{"c-1", "c-2", "c-3"} {
				got := keys(m.Match(customer, doc, nil))
				if want := oracle(rules, customer, doc); !slices.Equal(got, want) {
					t.Fatalf("seed %d, event %s, customer %s:\n index  %v\n oracle %v", seed, residualEvents[i], customer, got, want)
				}
				matched += len(got)
			}
		}
	}
	if matched == 0 {
		t.Fatal("nothing matched: the test would not notice a broken index")
	}
}
