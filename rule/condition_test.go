package rule

import (
	"testing"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// The semantics the package comment promises, one row each.
func TestConditionSemantics(t *testing.T) {
	doc := `{"type":"login.failed","n":5,"f":2.5,"s":"5","b":false,"z":null,
	         "roles":["member","admin"],"nums":[1,10,100],"empty":[],
	         "obj":{"k":[1,{"x":"y"}]},"email":"Ann@Example.com","tags":["sso","mfa"]}`
	tests := []struct {
		when string
		want bool
	}{
		{`{"path":"$.type"}`, true},
		{`{"path":"$.missing"}`, false},
		{`{"path":"$.z"}`, true}, // null is a value: the path selects a node
		{`{"path":"$.empty[*]"}`, false},
		{`{"not":{"path":"$.missing"}}`, true},
		{`{"path":"$.type","op":"==","value":"login.failed"}`, true},
		{`{"path":"$.n","op":"==","value":5.0}`, true},
		{`{"path":"$.n","op":"==","value":"5"}`, false}, // a number never equals a string
		{`{"path":"$.s","op":"==","value":5}`, false},
		{`{"path":"$.n","op":"!=","value":"5"}`, true},
		{`{"path":"$.missing","op":"!=","value":1}`, false}, // nothing selected fails every operator
		{`{"not":{"path":"$.missing","op":"==","value":1}}`, true},
		{`{"path":"$.roles[*]","op":"==","value":"admin"}`, true}, // some value satisfies
		{`{"path":"$.roles[*]","op":"!=","value":"admin"}`, true}, // "member" != "admin"
		{`{"not":{"path":"$.roles[*]","op":"==","value":"owner"}}`, true},
		{`{"path":"$.nums[*]","op":">","value":50}`, true},
		{`{"path":"$.nums[*]","op":"<","value":1}`, false},
		{`{"path":"$.nums[*]","op":"<=","value":1}`, true},
		{`{"path":"$.f","op":">=","value":2.5}`, true},
		{`{"path":"$.s","op":"<","value":6}`, false}, // string vs number never compares
		{`{"path":"$.type","op":">","value":"login"}`, true},
		{`{"path":"$.b","op":"<","value":1}`, false},
		{`{"path":"$.b","op":"==","value":false}`, true},
		{`{"path":"$.z","op":"==","value":null}`, true},
		{`{"path":"$.type","op":"in","value":["a","login.failed"]}`, true},
		{`{"path":"$.n","op":"in","value":["5"]}`, false},
		{`{"path":"$.n","op":"in","value":[4,5]}`, true},
		{`{"path":"$.type","op":"in","value":[]}`, false},
		{`{"path":"$.email","op":"matches","value":"(?i)@example\\.com$"}`, true},
		{`{"path":"$.email","op":"matches","value":"^example"}`, false},
		{`{"path":"$.n","op":"matches","value":"5"}`, false}, // only strings match
		{`{"path":"$.email","op":"contains","value":"Example"}`, true},
		{`{"path":"$.tags","op":"contains","value":"mfa"}`, true},
		{`{"path":"$.tags","op":"contains","value":"ms"}`, false}, // arrays hold elements, not substrings
		{`{"path":"$.nums","op":"contains","value":10}`, true},
		{`{"path":"$.n","op":"contains","value":5}`, false},
		{`{"path":"$.email","op":"contains","value":5}`, false}, // a string holds no number
		{`{"path":"$.obj","op":"==","value":{"k":[1,{"x":"y"}]}}`, true},
		{`{"path":"$.obj.k","op":"contains","value":{"x":"y"}}`, true},
		{`{"path":"$.roles","op":"==","value":["admin","member"]}`, false}, // order matters in arrays
		{`{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.roles[*]","op":"==","value":"admin"}]}`, true},
		{`{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.roles[*]","op":"==","value":"owner"}]}`, false},
		{`{"any":[{"path":"$.missing"},{"path":"$.n","op":">","value":4}]}`, true},
		{`{"any":[{"path":"$.missing"},{"not":{"path":"$.n"}}]}`, false},
		{`{"path":"$.roles[?@ == 'admin']"}`, true}, // RFC filters inside the path
		{`{"path":"$.store.book[?(@.category == 'fiction')].price"}`, false},
	}
	d := jsonpath.NewDocument()
	if err := d.Reset([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			r, err := ParseRule([]byte(`{"id":"t","scope":"*","threshold":1,"when":` + tt.when + `}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Matches(d); got != tt.want {
				t.Fatalf("Matches = %v, want %v", got, tt.want)
			}
			s, err := NewSet([]*Rule{r})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(s.Match("c-1", d, nil)) == 1; got != tt.want {
				t.Fatalf("Set.Match = %v, want %v (index disagrees with direct evaluation)", got, tt.want)
			}
		})
	}
}
