package metrics

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/clock"
)

// snapshotMagic starts every snapshot; the trailing digit is the format
// version. Version 1 kept one unit per series (snapSeries.Unit, HighRes and
// LowRes); version 2 keeps each unit's data apart (snapSeries.Units).
// Restore reads both.
const (
	snapshotMagic   = "inferscale-metrics-2\n"
	snapshotMagicV1 = "inferscale-metrics-1\n"
)

// Snapshot wire types (gob). Sketches are stored in their packed form.
type (
	snapHeader struct{ Series int }
	snapSeries struct {
		Namespace, Name      string
		Dimensions           []Dimension
		TotalCount, TotalSum float64
		Last                 int64
		Units                []snapUnit
		// Version 1: the series' one unit and its data.
		Unit            string
		HighRes, LowRes []snapBucket
	}
	snapUnit struct {
		Unit            string
		HighRes, LowRes []snapBucket
	}
	snapBucket struct {
		Start                int64
		Count, Sum, Min, Max float64
		NoPercentile         bool
		Zero                 uint64
		Sketch               []byte
	}
)

// Snapshot writes every series to w. Puts may continue meanwhile; each
// series is copied under its own lock.
func (s *Store) Snapshot(w io.Writer) error {
	var all []*series
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, head := range sh.series {
			for sr := head; sr != nil; sr = sr.next {
				all = append(all, sr)
			}
		}
		sh.mu.RUnlock()
	}
	if _, err := io.WriteString(w, snapshotMagic); err != nil {
		return fmt.Errorf("write metrics snapshot: %w", err)
	}
	enc := gob.NewEncoder(w)
	if err := enc.Encode(snapHeader{len(all)}); err != nil {
		return fmt.Errorf("write metrics snapshot: %w", err)
	}
	for _, sr := range all {
		sr.mu.Lock()
		ss := snapSeries{
			Namespace: sr.ns, Name: sr.name, Dimensions: sr.dims,
			TotalCount: sr.totalCount, TotalSum: sr.totalSum, Last: sr.last,
		}
		for _, ud := range sr.units {
			ss.Units = append(ss.Units, snapUnit{ud.unit, snapBuckets(ud.hi), snapBuckets(ud.lo)})
		}
		sr.mu.Unlock()
		if err := enc.Encode(&ss); err != nil {
			return fmt.Errorf("write metrics snapshot series %s %s: %w", ss.Namespace, ss.Name, err)
		}
	}
	return nil
}

func snapBuckets(bs []bucket) []snapBucket {
	out := make([]snapBucket, len(bs))
	for i := range bs {
		b := &bs[i]
		out[i] = snapBucket{b.start, b.count, b.sum, b.mn, b.mx, b.noPct, b.sk.zero, b.sk.encode()}
	}
	return out
}

// Restore replaces the store's contents with a snapshot read from r. On
// error the store is left unchanged. It fails with ErrTooManySeries if the
// snapshot holds more series than the store's limit.
func (s *Store) Restore(r io.Reader) error {
	br := bufio.NewReader(r)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, magic); err != nil {
		return fmt.Errorf("read metrics snapshot: %w", err)
	}
	if string(magic) != snapshotMagic && string(magic) != snapshotMagicV1 {
		return fmt.Errorf("read metrics snapshot: unknown format %q", magic)
	}
	dec := gob.NewDecoder(br)
	var hdr snapHeader
	if err := dec.Decode(&hdr); err != nil {
		return fmt.Errorf("read metrics snapshot: %w", err)
	}
	if hdr.Series > s.max {
		return fmt.Errorf("restore metrics snapshot: %d series: %w (limit %d)", hdr.Series, ErrTooManySeries, s.max)
	}
	fresh := New(Options{MaxSeries: s.max})
	fresh.seed = s.seed
	for range hdr.Series {
		var ss snapSeries
		if err := dec.Decode(&ss); err != nil {
			return fmt.Errorf("read metrics snapshot: %w", err)
		}
		if !slices.IsSortedFunc(ss.Dimensions, cmpDim) {
			return fmt.Errorf("read metrics snapshot series %s %s: dimensions not sorted", ss.Namespace, ss.Name)
		}
		sr, err := fresh.getOrCreate(ss.Namespace, ss.Name, ss.Dimensions)
		if err != nil {
			return fmt.Errorf("read metrics snapshot: %w", err)
		}
		if sr.totalCount != 0 {
			return fmt.Errorf("read metrics snapshot: series %s %s appears twice", ss.Namespace, ss.Name)
		}
		sr.totalCount, sr.totalSum, sr.last = ss.TotalCount, ss.TotalSum, ss.Last
		units := ss.Units
		if len(units) == 0 && (len(ss.HighRes) > 0 || len(ss.LowRes) > 0) {
			units = []snapUnit{{ss.Unit, ss.HighRes, ss.LowRes}} // version 1
		}
		for _, su := range units {
			u := normUnit(su.Unit)
			if slices.ContainsFunc(sr.units, func(ud unitData) bool { return ud.unit == u }) {
				return fmt.Errorf("read metrics snapshot series %s %s: unit %s appears twice", ss.Namespace, ss.Name, u)
			}
			ud := unitData{unit: u}
			if ud.hi, err = restoreBuckets(su.HighRes, hiSec); err != nil {
				return fmt.Errorf("read metrics snapshot series %s %s: %w", ss.Namespace, ss.Name, err)
			}
			if ud.lo, err = restoreBuckets(su.LowRes, loSec); err != nil {
				return fmt.Errorf("read metrics snapshot series %s %s: %w", ss.Namespace, ss.Name, err)
			}
			sr.units = append(sr.units, ud)
		}
	}
	// Swap contents under every shard lock, in order.
	for i := range s.shards {
		s.shards[i].mu.Lock()
	}
	for i := range s.shards {
		s.shards[i].series = fresh.shards[i].series
	}
	s.countMu.Lock()
	s.count = fresh.count
	s.countMu.Unlock()
	for i := range s.shards {
		s.shards[i].mu.Unlock()
	}
	return nil
}

func restoreBuckets(sb []snapBucket, res int64) ([]bucket, error) {
	out := make([]bucket, len(sb))
	for i, b := range sb {
		if b.Start%res != 0 || i > 0 && b.Start <= sb[i-1].Start {
			return nil, fmt.Errorf("bucket at %d: misaligned or out of order", b.Start)
		}
		if b.Count <= 0 || math.IsNaN(b.Sum) || b.Min > b.Max {
			return nil, fmt.Errorf("bucket at %d: invalid statistics", b.Start)
		}
		if err := forEachPacked(b.Sketch, func(int32, uint32) {}); err != nil {
			return nil, fmt.Errorf("bucket at %d: %w", b.Start, err)
		}
		out[i] = bucket{start: b.Start, count: b.Count, sum: b.Sum, mn: b.Min, mx: b.Max, noPct: b.NoPercentile,
			sk: sketch{zero: b.Zero, packed: b.Sketch}}
	}
	return out, nil
}

// Save writes a snapshot to path atomically: to a temporary file in the same
// directory, synced, then renamed over path, and the directory synced so
// that the rename itself survives a power loss.
func (s *Store) Save(path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save metrics to %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	bw := bufio.NewWriterSize(f, 1<<16)
	err = s.Snapshot(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("save metrics to %s: %w", path, err)
	}
	return nil
}

// syncDir flushes a directory's entries (a rename in it) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Load restores the store from a file written by Save. A missing file is
// not an error: the store stays empty (first start). It also removes the
// temporary files of saves to path that a crash interrupted, which
// nothing else would remove: the caller must be the only one saving to
// path.
func (s *Store) Load(path string) error {
	removeSaveLeftovers(path, s.log)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load metrics from %s: %w", path, err)
	}
	defer f.Close()
	if err := s.Restore(f); err != nil {
		if errors.Is(err, ErrTooManySeries) {
			return fmt.Errorf("load metrics from %s: %w", path, err)
		}
		return fmt.Errorf("load metrics from %s: %w: %w", path, ErrUnreadableSnapshot, err)
	}
	return nil
}

// ErrUnreadableSnapshot is Load's error for a snapshot file that is not
// one Save wrote (truncated, damaged): the store is left as it was.
var ErrUnreadableSnapshot = errors.New("not a readable metrics snapshot")

// removeSaveLeftovers removes the temporary files of Saves to path (see
// Save) that did not finish.
func removeSaveLeftovers(path string, log *slog.Logger) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+".tmp"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return // Load reports what matters: whether path can be read
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			log.Warn("remove the temporary file of an interrupted metrics save", "file", e.Name(), "err", err)
			continue
		}
		log.Info("removed the temporary file of an interrupted metrics save", "file", e.Name())
	}
}

// Clock is the time source of Run.
type Clock = clock.Clock

// Now returns time.Now().

// After returns time.After(d).

// Run evicts expired data and saves the store to path every interval, and
// once more when ctx ends. It blocks until ctx ends and returns the final
// save's error; failed periodic saves are logged and retried next time.
func (s *Store) Run(ctx context.Context, clk Clock, every time.Duration, path string) error {
	if every <= 0 {
		return fmt.Errorf("run metrics store: interval %v: %w", every, ErrInvalidParameter)
	}
	for {
		select {
		case <-ctx.Done():
			s.Evict(clk.Now())
			return s.Save(path)
		case <-clk.After(every):
			s.Evict(clk.Now())
			if err := s.Save(path); err != nil {
				s.log.Warn("periodic metrics save failed", "err", err)
			}
		}
	}
}
