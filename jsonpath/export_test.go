package jsonpath

// ForgetMemo lets external benchmarks measure lookups as they cost on a fresh event.
func ForgetMemo(d *Document) {
	d.gen++
	if d.gen == 0 {
		d.memo = [memoSize]memoEntry{}
		d.gen = 1
	}
}
