package live

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hindsightdev/hindsight/rule"
)

// cursorCounts names /v1/counts' listing in its cursors, as the console's name theirs
// (console/cursor.go), so that neither takes the other's.
const cursorCounts = "counts"

// encodeCountsCursor is the cursor of the page of k's counts after customer: a JSON
// array of strings ["counts", scope, id, customer] in base64url, so that any customer,
// scope or id travels in a URL as it is. It carries the listing's scope and rule
// because a cursor that was the customer alone was taken by another rule's listing,
// or another scope's, and answered a page at an unrelated position.
func encodeCountsCursor(k rule.Key, customer string) string {
	b, _ := json.Marshal([]string{cursorCounts, k.Scope, k.ID, customer}) // strings always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCountsCursor reads a cursor encodeCountsCursor made for k's listing and
// returns the customer to page after. Any other is an error naming cursor.
func decodeCountsCursor(s string, k rule.Key) (string, error) {
	var all []string
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &all)
	}
	switch {
	case err != nil:
	case len(all) != 4 || all[0] != cursorCounts:
		err = errors.New("it is not a cursor of /v1/counts")
	case all[1] != k.Scope || all[2] != k.ID:
		err = fmt.Errorf("it is a cursor of rule %s's counts, not %s's", rule.Key{Scope: all[1], ID: all[2]}, k)
	case all[3] == "":
		// No counter has an empty customer (ingestion dead-letters an empty key).
		err = errors.New("its customer is empty")
	}
	if err != nil {
		return "", fmt.Errorf("cursor is not one this API gave for this listing (pass next_cursor of the previous page of the same scope and rule as it was, or start without one): %w", err)
	}
	return all[3], nil
}
