package window

import (
	"fmt"
	"math"
)

// IDPage is the page a running-totals store's customer ids are kept in: live's
// counter store (live/names.go) puts them back to back in pages of IDPage bytes that
// an id never crosses, an id longer than a page having pages of its own.
// --max-customer-ids-bytes counts those pages' bytes, so a Replay counts its ids by
// the same arithmetic (IDPages) to refuse the customers live refuses.
const IDPage = 64 << 10

// MaxIDBytes is the most bytes of customer ids a store may hold: live's store keeps
// them at uint32 offsets. Limits.MaxCustomerIDBytes, negative, is this.
const MaxIDBytes = math.MaxUint32

// DefaultMaxCustomerIDBytes is the default bound on the bytes of customer ids a
// partition's running totals hold, live's (live.DefaultMaxCustomerIDBytes,
// --max-customer-ids-bytes) and a Replay's: 1 GiB, a million ids of 1,024 bytes
// (--max-customer-bytes) or tens of millions of usual ones.
const DefaultMaxCustomerIDBytes = 1 << 30

// CheckMaxCustomerIDBytes says why n, a bound on customer ids' bytes already
// defaulted (0) and made MaxIDBytes (negative), cannot be one: under one page no id
// would fit, past MaxIDBytes offsets would not address them.
func CheckMaxCustomerIDBytes(n int64) error {
	if n > MaxIDBytes || n < IDPage {
		return fmt.Errorf("max customer ids bytes %d: from %d (one page of ids) to %d (negative: that)", n, IDPage, int64(MaxIDBytes))
	}
	return nil
}

// IDPages is where a store of customer ids kept in IDPage pages stands: the next
// id's offset (End) and the end of its pages (Top). Live's store and a Replay share
// it, so that the same ids take the same bytes in both.
type IDPages struct {
	End, Top int
}

// Add places an id of n bytes and returns its offset; Top grows by the pages it
// needs. An id that does not fit in the rest of the last page starts a new one, the
// rest staying unused. An empty id takes nothing.
func (p *IDPages) Add(n int) (at int) {
	if n == 0 {
		return p.End
	}
	at = p.End
	if at+n > p.Top {
		at = p.Top
		p.Top += (n + IDPage - 1) / IDPage * IDPage
	}
	p.End = at + n
	return at
}

// Fits says whether Add would place an id of n bytes within limit bytes, pages'
// unused ends included (limit 0, negative or past MaxIDBytes: MaxIDBytes).
func (p IDPages) Fits(n int, limit int64) bool {
	if limit <= 0 || limit > MaxIDBytes {
		limit = MaxIDBytes
	}
	if p.End+n <= p.Top {
		return int64(p.End+n) <= limit
	}
	return int64(p.Top+(n+IDPage-1)/IDPage*IDPage) <= limit
}
