package live

import (
	"math"

	"github.com/hindsightdev/hindsight/window"
)

// nameArena holds a partition's customer names back to back, each at a uint32 offset,
// in pages of namePage bytes that a name never crosses (a name longer than a page has
// pages of its own, one allocation). It replaced one byte slice that doubled as it
// filled: each doubling copied every name so far into fresh memory, in one copy the
// scheduler cannot preempt, faulting that memory in as it went, and held the partition
// — and the collector's every stop-the-world pause — 3–27 ms at a few hundred thousand
// customers (the latency benchmark makes a customer per event; TestNameArenaNeverCopies).
// A page is allocated once and never moved. Append-only: the bytes of a name never
// change, so a frozen view shares the pages.
type nameArena struct {
	pages [][]byte // pages[k] holds offsets [k·namePage, (k+1)·namePage)
	end   int      // the next name's offset, before rounding to a page
}

// namePage is small enough that allocating one costs microseconds, large enough
// that the pages of ten million names are a few thousand. It is window's, whose
// replay counts ids as this store does.
const namePage = window.IDPage

// add stores name and returns its offset; ok is false when the arena would outgrow
// the 4 GiB that offsets address. Where a name goes, and the pages it takes, is
// window.IDPages' arithmetic, which a backtest's replay counts its ids by too.
func (a *nameArena) add(name []byte) (off uint32, ok bool) {
	n := len(name)
	if n == 0 {
		return uint32(min(a.end, math.MaxUint32)), true
	}
	p := a.idPages()
	at := p.Add(n)
	if p.Top > math.MaxUint32 {
		return 0, false
	}
	if grown := p.Top - len(a.pages)*namePage; grown > 0 {
		buf := make([]byte, grown)
		for k := range grown / namePage {
			a.pages = append(a.pages, buf[k*namePage:])
		}
	}
	copy(a.pages[at/namePage][at%namePage:], name)
	a.end = p.End
	return uint32(at), true
}

// fits says whether add would take a name of n bytes and leave the arena's pages
// within limit bytes (0: maxNameBytes, what offsets address).
func (a *nameArena) fits(n int, limit int64) bool { return a.idPages().Fits(n, limit) }

// idPages is where the arena stands, in window.IDPages' terms.
func (a *nameArena) idPages() window.IDPages {
	return window.IDPages{End: a.end, Top: len(a.pages) * namePage}
}

// at is the name of n bytes at off, without a copy.
func (a *nameArena) at(off, n uint32) []byte {
	if n == 0 {
		return nil
	}
	p := a.pages[off/namePage]
	o := off % namePage
	return p[o : o+n : o+n]
}

// reserve makes room for the page list of n bytes of names (a restore knows them).
func (a *nameArena) reserve(n int) {
	if pages := n/namePage + 1; cap(a.pages) < pages {
		a.pages = append(make([][]byte, 0, pages), a.pages...)
	}
}

// frozen is a view of the arena as it is: later names go to bytes it does not cover.
func (a *nameArena) frozen() nameArena {
	return nameArena{pages: a.pages[:len(a.pages):len(a.pages)], end: a.end}
}

// size is the bytes the names take, page rounding included (a snapshot sizes its
// buffer by it).
func (a *nameArena) size() int { return a.end }

// footprint is the memory the arena holds.
func (a *nameArena) footprint() int { return len(a.pages)*namePage + cap(a.pages)*24 }
