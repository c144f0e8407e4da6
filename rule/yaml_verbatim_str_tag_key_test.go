package rule

import (
	"testing"
)

// TestVerbatimStrTagOnRulesKey: the file takes !<tag:yaml.org,2002:str> as it takes
// !!str (yamlOwnTags), and the non-specific tag "!" (the value as its style makes it).
// On the top-level rules key, `!!str rules:` is found, but `!<tag:yaml.org,2002:str>
// rules:` and `! rules:` are not: the file is refused as "expected a list of rules or a
// mapping with a rules list", of a file that is exactly that.
func TestVerbatimStrTagOnRulesKey(t *testing.T) {
	mustLimits(t)
	const body = "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.v}\n    threshold: 1\n"
	for _, tag := range []string{"!!str ", "!<tag:yaml.org,2002:str> ", "! "} {
		rules, err := ParseRulesFile("rules.yaml", []byte(tag+body))
		if err != nil || len(rules) != 1 {
			t.Errorf("%srules: %d rules, %v", tag, len(rules), err)
		}
	}
}
