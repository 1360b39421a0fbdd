package metrics

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
)

// The quantile sketch is a DDSketch-style log-bucketed histogram: a value v > 0
// is counted in bin i = ceil(log_gamma(v)) with gamma = (1+a)/(1-a), so every
// quantile it answers is within relative error a of a sample of that rank.
// Bins are sparse: a bucket only holds the bins its samples touched.
//
// HdrHistogram (already a dependency) was considered and rejected for the
// per-bucket sketch: its dense counts array is several KiB even at one
// significant figure, and a series holds up to 21,600 one-minute buckets.
//
// Negative values are not sketched: like CloudWatch, percentiles are not
// available for a bucket that received a negative value.
const (
	// SketchRelativeAccuracy is the relative error bound of percentiles.
	SketchRelativeAccuracy = 0.01
	// sketchMinPositive: positive values below it are counted as zero.
	sketchMinPositive = 1e-9
)

var (
	sketchGamma    = (1 + SketchRelativeAccuracy) / (1 - SketchRelativeAccuracy)
	sketchLogGamma = math.Log(sketchGamma)
)

func sketchIndex(v float64) int32 { return int32(math.Ceil(math.Log(v) / sketchLogGamma)) }

// sketchValue is the representative value of bin i: the point whose relative
// distance to both bin edges is a.
func sketchValue(i int32) float64 {
	return 2 * math.Pow(sketchGamma, float64(i)) / (sketchGamma + 1)
}

type bin struct {
	idx int32
	n   uint32
}

// sketch is in one of two forms: open (bins, cheap to update) while its
// bucket is the newest of its series, packed (varint-encoded bytes, about
// 2-3 bytes a bin) once it is sealed.
type sketch struct {
	zero   uint64
	bins   []bin  // open form, sorted by idx
	packed []byte // packed form: (zigzag idx delta, count) uvarints
}

// add counts n samples of value v >= 0. It allocates only when v falls in a
// bin the sketch has not seen.
func (s *sketch) add(v float64, n uint32) { s.addAt(sketchBin(v), n) }

// sketchBin is the bin of v >= 0: sketchIndex(v), or zeroBin for the values
// counted as zero. A value going into several sketches (a series' buckets
// of each resolution) is binned once.
func sketchBin(v float64) int32 {
	if v < sketchMinPositive {
		return zeroBin
	}
	return sketchIndex(v)
}

// zeroBin is sketchBin's bin of the values counted as zero: below any
// sketchIndex of a value from sketchMinPositive up.
const zeroBin = math.MinInt32

// addAt counts n samples in bin idx, from sketchBin.
func (s *sketch) addAt(idx int32, n uint32) {
	if idx == zeroBin {
		s.zero += uint64(n)
		return
	}
	if s.packed != nil {
		s.unpack()
	}
	// The first bin with an index of at least idx, by binary search.
	i, j := 0, len(s.bins)
	for i < j {
		h := int(uint(i+j) >> 1)
		if s.bins[h].idx < idx {
			i = h + 1
		} else {
			j = h
		}
	}
	if i < len(s.bins) && s.bins[i].idx == idx {
		if s.bins[i].n > math.MaxUint32-n {
			s.bins[i].n = math.MaxUint32 // saturate; unreachable in practice
			return
		}
		s.bins[i].n += n
		return
	}
	s.bins = slices.Insert(s.bins, i, bin{idx, n})
}

func (s *sketch) empty() bool { return s.zero == 0 && len(s.bins) == 0 && len(s.packed) == 0 }

// encode returns the packed form without changing s.
func (s *sketch) encode() []byte {
	if s.packed != nil {
		return s.packed
	}
	if len(s.bins) == 0 {
		return nil
	}
	buf := make([]byte, 0, len(s.bins)*3)
	prev := int32(0)
	for _, b := range s.bins {
		buf = binary.AppendVarint(buf, int64(b.idx-prev))
		buf = binary.AppendUvarint(buf, uint64(b.n))
		prev = b.idx
	}
	return slices.Clip(buf)
}

// pack seals the sketch into its compact form.
func (s *sketch) pack() {
	if s.packed == nil && len(s.bins) > 0 {
		s.packed = s.encode()
	}
	s.bins = nil
}

func (s *sketch) unpack() {
	var bins []bin
	_ = forEachPacked(s.packed, func(idx int32, n uint32) { bins = append(bins, bin{idx, n}) })
	s.bins, s.packed = bins, nil
}

var errCorruptSketch = errors.New("corrupt sketch encoding")

func forEachPacked(p []byte, fn func(idx int32, n uint32)) error {
	prev := int64(0)
	for len(p) > 0 {
		d, k := binary.Varint(p)
		if k <= 0 {
			return errCorruptSketch
		}
		p = p[k:]
		n, k := binary.Uvarint(p)
		if k <= 0 || n > math.MaxUint32 {
			return errCorruptSketch
		}
		p = p[k:]
		prev += d
		if prev < math.MinInt32 || prev > math.MaxInt32 {
			return errCorruptSketch
		}
		fn(int32(prev), uint32(n))
	}
	return nil
}

// forEach calls fn for each non-zero bin in ascending index order.
func (s *sketch) forEach(fn func(idx int32, n uint32)) {
	if s.packed != nil {
		_ = forEachPacked(s.packed, fn) // validated on restore
		return
	}
	for _, b := range s.bins {
		fn(b.idx, b.n)
	}
}

// sizeBytes is the heap held by the sketch's variable part.
func (s *sketch) sizeBytes() int { return cap(s.bins)*8 + cap(s.packed) }

// merged accumulates sketches of several buckets for a query.
type merged struct {
	zero  uint64
	bins  map[int32]uint64
	valid bool // false once any merged bucket had no usable distribution
}

func newMerged() *merged { return &merged{bins: map[int32]uint64{}, valid: true} }

func (m *merged) add(s *sketch) {
	m.zero += s.zero
	s.forEach(func(idx int32, n uint32) { m.bins[idx] += uint64(n) })
}

// quantiles answers each q in [0,1] by nearest rank: the value of rank
// ceil(q*n) (1-based) of the n merged samples, as CloudWatch answers for
// small samples. The first and last ranks are lo and hi, the exact minimum
// and maximum of the merged samples (so p0 is the Minimum and p100 the
// Maximum); other ranks are their bins' values, within the sketch's
// relative accuracy, clamped to [lo, hi].
func (m *merged) quantiles(qs []float64, lo, hi float64) []float64 {
	idxs := make([]int32, 0, len(m.bins))
	var total uint64 = m.zero
	for i, n := range m.bins {
		idxs = append(idxs, i)
		total += n
	}
	slices.Sort(idxs)
	out := make([]float64, len(qs))
	if total == 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	n := float64(total)
	for qi, q := range qs {
		// The tolerance keeps q*n that should be whole (0.07*100 is
		// 7.000000000000001) from rounding up a rank.
		rank := math.Ceil(q*n - 1e-9*n)
		switch {
		case rank <= 1:
			out[qi] = lo
			continue
		case rank >= n:
			out[qi] = hi
			continue
		}
		v := hi
		cum := float64(m.zero)
		if cum >= rank {
			v = 0
		} else {
			for _, i := range idxs {
				cum += float64(m.bins[i])
				if cum >= rank {
					v = sketchValue(i)
					break
				}
			}
		}
		out[qi] = math.Min(math.Max(v, lo), hi)
	}
	return out
}
