package console_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// readMutes reads the page of GET /v1/console/mutes with query, failing on any answer
// but 200.
func readMutes(t *testing.T, d *daemon, query string) console.MutesResponse {
	t.Helper()
	var ms console.MutesResponse
	if resp := call(t, "GET", d.url("/v1/console/mutes?"+query), "", nil, &ms); resp.StatusCode != 200 {
		t.Fatalf("GET /v1/console/mutes?%s: %d, want 200", query, resp.StatusCode)
	}
	return ms
}

// allMutes reads every mute page by page, limit at a time, as a caller that wants them
// all must, and returns their scope/id keys in the order given and the pages read.
func allMutes(t *testing.T, d *daemon, limit int) (keys []string, pages int) {
	t.Helper()
	cursor := ""
	for {
		ms := readMutes(t, d, fmt.Sprintf("limit=%d&cursor=%s", limit, url.QueryEscape(cursor)))
		pages++
		if len(ms.Mutes) > limit {
			t.Fatalf("a page of limit %d holds %d mutes", limit, len(ms.Mutes))
		}
		for _, m := range ms.Mutes {
			keys = append(keys, m.Scope+"/"+m.ID)
		}
		if ms.NextCursor == "" {
			return keys, pages
		}
		if len(ms.Mutes) == 0 {
			t.Fatalf("an empty page gave next_cursor %q", ms.NextCursor)
		}
		cursor = ms.NextCursor
	}
}

// TestMutesArePaged: GET /v1/console/mutes answers a page (limit, default
// console.DefaultMutesPageSize, at most console.DefaultMutesMaxPageSize: over it is 400, as
// /v1/counts answers a limit over --counts-max-page-size), in (scope, id) order, with
// the total and the cursor of the next page; a cursor stays good when the mute it names
// is removed meanwhile.
func TestMutesArePaged(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	var cs []*rule.Control
	for _, k := range []rule.Key{{Scope: "c-2", ID: "b"}, {Scope: "*", ID: "deploy"}, {Scope: "c-1", ID: "z"}, {Scope: "c-2", ID: "a"}, {Scope: "c-1", ID: "a"}} {
		cs = append(cs, rule.UpsertMute(&rule.Mute{Scope: k.Scope, ID: k.ID, Rule: "*", Until: until, Reason: "r", By: "ana"}))
	}
	kc, topics := d.ConsoleBackend().Kafka()
	if _, err := ingest.PublishControls(context.Background(), kc, topics, cs); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "the daemon to apply the mutes", func() bool { return len(d.ConsoleBackend().Mutes()) == len(cs) })

	want := []string{"*/deploy", "c-1/a", "c-1/z", "c-2/a", "c-2/b"}
	if ms := readMutes(t, d, ""); len(ms.Mutes) != 5 || ms.Total != 5 || ms.NextCursor != "" {
		t.Errorf("without limit: %d mutes, total %d, next_cursor %q; want all 5 (default page %d), total 5, no next page", len(ms.Mutes), ms.Total, ms.NextCursor, console.DefaultMutesPageSize)
	}
	keys, pages := allMutes(t, d, 2)
	if !slices.Equal(keys, want) || pages != 3 {
		t.Errorf("read 2 at a time: %v in %d pages, want %v in 3", keys, pages, want)
	}
	first := readMutes(t, d, "limit=2")
	if first.Total != 5 || first.NextCursor == "" {
		t.Fatalf("first page of 2: total %d, next_cursor %q; want total 5 and a next page", first.Total, first.NextCursor)
	}

	// The mute the cursor names (the last of the first page) is removed: the next page
	// still starts after it.
	if _, err := ingest.PublishControls(context.Background(), kc, topics, []*rule.Control{rule.DeleteOf(rule.KindMute, rule.Key{Scope: "c-1", ID: "a"})}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "the daemon to remove c-1/a", func() bool { return len(d.ConsoleBackend().Mutes()) == len(cs)-1 })
	next := readMutes(t, d, "limit=2&cursor="+url.QueryEscape(first.NextCursor))
	var got []string
	for _, m := range next.Mutes {
		got = append(got, m.Scope+"/"+m.ID)
	}
	if !slices.Equal(got, []string{"c-1/z", "c-2/a"}) || next.Total != 4 {
		t.Errorf("the page after */deploy, c-1/a once c-1/a is gone: %v (total %d), want [c-1/z c-2/a] (total 4)", got, next.Total)
	}

	for _, c := range []struct{ query, want string }{
		{fmt.Sprintf("limit=%d", console.DefaultMutesMaxPageSize+1), fmt.Sprintf("limit %d is over the largest page, %d (--console-mutes-max-page-size): read the mutes page by page with cursor", console.DefaultMutesMaxPageSize+1, console.DefaultMutesMaxPageSize)},
		{"limit=0", fmt.Sprintf("limit must be a number from 1 to %d", console.DefaultMutesMaxPageSize)},
		{"limit=ten", fmt.Sprintf("limit must be a number from 1 to %d", console.DefaultMutesMaxPageSize)},
		{"cursor=not-a-cursor", "cursor is not one this API gave"},
		{"cursor=" + url.QueryEscape("W10"), "cursor is not one this API gave"}, // base64url of []
	} {
		var e contract.ErrorResponse
		if resp := call(t, "GET", d.url("/v1/console/mutes?"+c.query), "", nil, &e); resp.StatusCode != 400 || !strings.Contains(e.Error, c.want) {
			t.Errorf("GET /v1/console/mutes?%s: %d %q, want 400 saying %q", c.query, resp.StatusCode, e.Error, c.want)
		}
	}
}
