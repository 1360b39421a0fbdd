// Package archive reads tar archives, gzipped or not, as SageMaker packs
// model artifacts and sample payloads.
package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// ErrNotArchive is returned by Walk for a file that is not a tar archive.
var ErrNotArchive = errors.New("not an archive")

// Walk calls fn for each entry of a tar archive, gzipped or not,
// with its cleaned relative name. Entries whose names leave the archive's
// root are an error. It returns ErrNotArchive for a file that is neither.
func Walk(file string, fn func(name string, h *tar.Header, r io.Reader) error) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			if n == 0 {
				return ErrNotArchive
			}
			return nil
		}
		if err != nil {
			if n == 0 {
				return ErrNotArchive
			}
			return err
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if name == "." {
			continue
		}
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("entry %q leaves the archive", h.Name)
		}
		if err := fn(name, h, tr); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
}
