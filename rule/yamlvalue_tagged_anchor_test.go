package rule

import "testing"

// TestRulesFileIntTagOverAnchor: `!!int &n 5` (a tag written before an anchor, which
// YAML allows as well as `&n !!int 5`) is the number 5, as it was before
// decodeYAMLNode. Its marker turns the anchored scalar into a marked string, which the
// decoder then converts under the !!int or !!float tag to 0: the rule compares with 0,
// silently, and so does every alias of the anchor.
func TestRulesFileIntTagOverAnchor(t *testing.T) {
	mustLimits(t)
	for _, tc := range []struct{ tag, text string }{{"!!int", "5"}, {"!!float", "1.5"}} {
		t.Run(tc.tag, func(t *testing.T) {
			sameAsControl(t,
				"- id: a\n  scope: '*'\n  when: {path: $.n, op: '==', value: "+tc.tag+" &v "+tc.text+"}\n  threshold: 1\n",
				`{"id":"a","scope":"*","when":{"path":"$.n","op":"==","value":`+tc.text+`},"threshold":1}`,
				`{"n":`+tc.text+`}`)
		})
	}
}
