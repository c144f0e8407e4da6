package notify

import (
	"strings"

	"github.com/hindsightdev/hindsight/contract"
)

// customerText is customer id c as a summary writes it. The id is the event's Kafka
// key, any UTF-8 its producer chose, line breaks included: written as it is, it could
// add lines of its own to the one-line summary (a spoofed "[CRITICAL] … firing" line)
// or, in Slack, turn into formatting. So an id that is not plain is written as a
// quoted JSON string, as group values are (a line break is \n), and for Slack
// (slack set) with *, _, ~ and ` also written as JSON escapes (\u002a, \u005f,
// \u007e, \u0060): Slack's mrkdwn has no escape of its own for them (its docs
// name only &, < and >, which slackEscape writes), and a zero-width space or an inline
// code span are not documented to stop formatting, while the escapes leave a JSON
// string that still reads back as the exact id.
func customerText(c string, slack bool) string {
	if plainCustomer(c, slack) {
		return c
	}
	// shownValue: <, > and & as themselves (Slack's escaping follows, slackEscape).
	q := shownValue(contract.AppendJSONString(nil, c))
	if slack {
		q = slackMarkupEscapes.Replace(q)
	}
	return q
}

// slackMarkupEscapes writes mrkdwn's formatting characters as JSON escapes; inside a
// JSON string a backslash only starts an escape, so the result is still one.
var slackMarkupEscapes = strings.NewReplacer("*", `\u002a`, "_", `\u005f`, "~", `\u007e`, "`", `\u0060`)

// plainCustomer reports whether customer id c reads unquoted in a summary: ASCII
// letters, digits and - . : @ / + _ only (c-042, acme.eu, ops@acme). For Slack, an _
// must also sit between two letters or digits (acme_eu), where mrkdwn does not read it
// as the edge of italics; "_x_" is quoted.
func plainCustomer(c string, slack bool) bool {
	if c == "" {
		return false
	}
	for i := 0; i < len(c); i++ {
		switch ch := c[i]; {
		case isAlnum(ch), strings.IndexByte("-.:@/+", ch) >= 0:
		case ch == '_':
			if slack && (i == 0 || i == len(c)-1 || !isAlnum(c[i-1]) || !isAlnum(c[i+1])) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
