package console

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hindsightdev/hindsight/rule"
)

// The listings' cursors: each is a JSON array of strings in base64url, so that any
// customer, scope or id travels in a URL as it is and no separator can be confused
// with a character of one. The first string names the listing that gave it: without
// it, a cursor of one listing was taken by another (the mutes' ["SCOPE","ID"] read by
// windows as the customer to page after), and answered a page silently cut short. A
// listing of one rule's rows (windows) carries the rule's scope and id next, as the
// daemon's /v1/counts cursor does (live/cursor.go): see decodeRuleCursor.
const (
	cursorWindows = "windows"
	cursorMutes   = "mutes"
)

// encodeCursor is the cursor listing gives for the page after the row keyed by fields.
func encodeCursor(listing string, fields ...string) string {
	b, _ := json.Marshal(append([]string{listing}, fields...)) // strings always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor encodeCursor made for listing, with n fields, the last
// not empty; "" is the first page (nil). Any other is an error naming cursor.
func decodeCursor(s, listing string, n int) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var all []string
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &all)
	}
	switch {
	case err != nil:
	case len(all) == 0 || all[0] != listing:
		err = fmt.Errorf("it is not a cursor of the %s listing", listing)
	case len(all) != n+1:
		err = fmt.Errorf("it holds %d fields, not %d", len(all)-1, n)
	case all[n] == "":
		// The last field is a windows customer or a mute id, which no row has empty.
		err = errors.New("its last field is empty")
	}
	if err != nil {
		return nil, fmt.Errorf("cursor is not one this API gave (pass next_cursor of the previous page as it was, or start without one): %w", err)
	}
	return all[1:], nil
}

// decodeRuleCursor reads a cursor encodeCursor(listing, k.Scope, k.ID, after) made for
// rule k's listing and returns after ("" for the first page). A cursor of the customer
// alone was taken by another rule's listing, or another scope's, as a position there,
// and answered a page that skipped rows without a word: one of another rule is an error
// naming cursor.
func decodeRuleCursor(s, listing string, k rule.Key) (string, error) {
	cur, err := decodeCursor(s, listing, 3)
	if err != nil || cur == nil {
		return "", err
	}
	if of := (rule.Key{Scope: cur[0], ID: cur[1]}); of != k {
		return "", fmt.Errorf("cursor is not one this API gave for this listing (pass next_cursor of the previous page of the same scope and rule as it was, or start without one): it is a cursor of rule %s's %s, not %s's", of, listing, k)
	}
	return cur[2], nil
}
