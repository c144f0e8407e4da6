package lakehouse

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
)

// A file's customer filter is a Bloom filter of the customers it holds, in the
// manifest, so that a one-customer reader skips the files without that customer
// before opening any: rows are sorted by customer within a file, but every file of an
// hour spans the whole range of customer ids, so min/max prune nothing, and a
// customer's events usually all sit in one partition (Kafka's key hash). It never
// drops a file that holds the customer; it keeps a file that does not with
// probability about 1% (customerFilterBitsPer bits per customer).
//
// Format, part of the manifest: bit i of the filter is byte i/8, bit i%8 (least
// significant first) of Bits; customer c sets bits mix(h + j·0x9E3779B97F4A7C15) mod
// len(Bits)·8 for j in [0, K), where h is FNV-1a 64 of c and mix is SplitMix64's
// finalizer (x ^= x>>30; x *= 0xBF58476D1CE4E5B9; x ^= x>>27; x *= 0x94D049BB133111EB;
// x ^= x>>31). A file holding more than MaxFilteredCustomers customers has no filter:
// one that small would keep every file anyway.
type CustomerFilter struct {
	K    int    `json:"k"`
	Bits []byte `json:"bits"`
}

// MaxFilteredCustomers is the most customers a file's filter describes.
const MaxFilteredCustomers = 512

// customerFilterBitsPer is the filter's size per customer (at least
// customerFilterMinBytes): with k = 7, a false positive rate of about 1%.
const (
	customerFilterBitsPer  = 10
	customerFilterK        = 7
	customerFilterMinBytes = 16
)

// newCustomerFilter returns the filter of customers (distinct), nil when there are
// too many to describe usefully.
func newCustomerFilter(customers []string) *CustomerFilter {
	if len(customers) == 0 || len(customers) > MaxFilteredCustomers {
		return nil
	}
	f := &CustomerFilter{K: customerFilterK, Bits: make([]byte, max(customerFilterMinBytes, (len(customers)*customerFilterBitsPer+7)/8))}
	for _, c := range customers {
		f.each(c, func(bit uint64) bool {
			f.Bits[bit/8] |= 1 << (bit % 8)
			return true
		})
	}
	return f
}

// each calls fn with c's bits until fn returns false.
func (f *CustomerFilter) each(c string, fn func(bit uint64) bool) {
	h := fnv.New64a()
	h.Write([]byte(c))
	sum := h.Sum64()
	m := uint64(len(f.Bits)) * 8
	for j := range uint64(f.K) {
		x := sum + j*0x9E3779B97F4A7C15
		x ^= x >> 30
		x *= 0xBF58476D1CE4E5B9
		x ^= x >> 27
		x *= 0x94D049BB133111EB
		x ^= x >> 31
		if !fn(x % m) {
			return
		}
	}
}

// MayContain is false only when the file holds no event of customer c. A nil filter
// (none recorded) may contain anything.
func (f *CustomerFilter) MayContain(c string) bool {
	if f == nil || len(f.Bits) == 0 || f.K <= 0 {
		return true
	}
	in := true
	f.each(c, func(bit uint64) bool {
		in = f.Bits[bit/8]&(1<<(bit%8)) != 0
		return in
	})
	return in
}

// MarshalJSON writes the bits as base64 (encoding/json's default for bytes, spelled
// out so that the format does not hang on it).
func (f CustomerFilter) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		K    int    `json:"k"`
		Bits string `json:"bits"`
	}{f.K, base64.StdEncoding.EncodeToString(f.Bits)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (f *CustomerFilter) UnmarshalJSON(b []byte) error {
	var raw struct {
		K    int    `json:"k"`
		Bits string `json:"bits"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	bits, err := base64.StdEncoding.DecodeString(raw.Bits)
	if err != nil {
		return fmt.Errorf("customer filter bits: %w", err)
	}
	f.K, f.Bits = raw.K, bits
	return nil
}
