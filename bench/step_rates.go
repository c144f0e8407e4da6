package bench

import "time"

// stepRates is a throughput series (events/s per sampleStep since t0) of a reader
// whose count is known only when a read returns, at no regular instant: a read that
// returns two steps after the previous one has no reading for the step between, and
// one in the step the reading ends in comes before that step's end. What a read adds
// counts in the step it returned in, so that no event is counted twice or left out;
// each step is divided by its own length, the last one's cut short where the reading
// ended.
type stepRates struct {
	t0     time.Time
	counts []int
	total  int
	lastAt time.Time
}

// read notes that total events were read by at.
func (s *stepRates) read(at time.Time, total int) {
	i := max(0, int(at.Sub(s.t0)/sampleStep))
	for len(s.counts) <= i {
		s.counts = append(s.counts, 0)
	}
	s.counts[i] += total - s.total
	s.total, s.lastAt = total, at
}

// perSecond is the series up to the last read.
func (s *stepRates) perSecond() []float64 {
	out := make([]float64, len(s.counts))
	for i, n := range s.counts {
		d := sampleStep
		if i == len(s.counts)-1 {
			if rest := s.lastAt.Sub(s.t0) - time.Duration(i)*sampleStep; rest > 0 {
				d = rest
			}
		}
		out[i] = float64(n) / d.Seconds()
	}
	return out
}

// spanRates is n events read over the span d since the last sample, as the series'
// values (events/s per sampleStep): one value over d's own length when d is within a
// step, else one value per step d began, each at the span's mean rate. The end of a
// run is read past the step's end when its sample comes late (or the select takes the
// end first): a single value over d then held fewer events than were read, and
// `bench archive`'s parquet series summed to 18,973 of 20,000 in one run.
func spanRates(n float64, d time.Duration) []float64 {
	if d <= sampleStep {
		return []float64{n / d.Seconds()}
	}
	out := make([]float64, (d+sampleStep-1)/sampleStep)
	for i := range out {
		out[i] = n / d.Seconds()
	}
	return out
}
