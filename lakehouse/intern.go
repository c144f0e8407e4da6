package lakehouse

import "hash/maphash"

// internSlots is the size of the archiver's customer intern cache (256 KiB of string
// headers), a power of two: of n customers, about e^(−n/internSlots) of them have a slot
// to themselves (94% of 1,000, 54% of 10,000); the rest cost an allocation where they
// collide.
const internSlots = 1 << 14

// internCache turns record keys into customer strings, handing out the same string for
// a key it met recently, so that a file's rows share one string per customer instead
// of one allocation per row. It is direct-mapped: a fixed array of slots indexed by the
// key's hash, where a new key takes the slot from whatever held it. So it costs one
// hash and one comparison per record and a bounded amount of memory however many
// distinct keys go by; the map it replaces, capped at a million keys, took a key per
// event in the latency benchmark, rehashed as it grew and never gave the memory back.
type internCache struct {
	seed  maphash.Seed
	slots [internSlots]string
}

func newInternCache() *internCache {
	return &internCache{seed: maphash.MakeSeed()}
}

// get returns key as a string, shared with earlier calls for the same key while its
// slot still holds it.
func (c *internCache) get(key []byte) string {
	i := maphash.Bytes(c.seed, key) & (internSlots - 1)
	if s := c.slots[i]; s == string(key) {
		return s
	}
	s := string(key)
	c.slots[i] = s
	return s
}
