// Package payload reads the sample payloads a benchmark sends: files,
// directories and tar(.gz) archives as SageMaker's SamplePayloadUrl names
// them, each file one request body.
package payload

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/inferscale/inferscale/internal/archive"
	"github.com/inferscale/inferscale/internal/loadgen"
)

// Limits on what Read takes.
const (
	// MaxBytes is SageMaker's limit on an invocation's body.
	MaxBytes = 6 << 20
	// MaxTotalBytes bounds all sample payloads of a benchmark together.
	MaxTotalBytes = 256 << 20
	// MaxCount bounds their number.
	MaxCount = 10000
)

// Read reads sample payloads: every regular file of a directory
// (recursively) or of a tar(.gz) archive, in name order, or a single file
// that is neither. Names starting with "." are skipped (".DS_Store",
// "._x"). contentType applies to all; when empty it follows each file's
// extension.
func Read(local, contentType string) ([]loadgen.Payload, error) {
	type file struct {
		name string
		body []byte
	}
	var files []file
	var total int64
	add := func(name string, size int64, read func() ([]byte, error)) error {
		if strings.HasPrefix(path.Base(name), ".") {
			return nil
		}
		switch {
		case size == 0:
			return fmt.Errorf("payload %s is empty", name)
		case size > MaxBytes:
			return fmt.Errorf("payload %s has %d bytes, more than an invocation takes (%d MiB)", name, size, MaxBytes>>20)
		case len(files) == MaxCount:
			return fmt.Errorf("more than %d payloads", MaxCount)
		}
		if total += size; total > MaxTotalBytes {
			return fmt.Errorf("the payloads are larger than %d MiB together", MaxTotalBytes>>20)
		}
		b, err := read()
		if err != nil {
			return err
		}
		files = append(files, file{name, b})
		return nil
	}

	st, err := os.Stat(local)
	if err != nil {
		return nil, err
	}
	switch {
	case st.IsDir():
		err = filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != local && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(local, p)
			return add(filepath.ToSlash(rel), info.Size(), func() ([]byte, error) { return os.ReadFile(p) })
		})
	default:
		err = archive.Walk(local, func(name string, h *tar.Header, r io.Reader) error {
			if h.Typeflag != tar.TypeReg {
				return nil
			}
			return add(name, h.Size, func() ([]byte, error) { return io.ReadAll(r) })
		})
		if errors.Is(err, archive.ErrNotArchive) {
			err = add(strings.TrimPrefix(filepath.Base(local), "payloads-"), st.Size(), func() ([]byte, error) { return os.ReadFile(local) })
		}
	}
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no payload files")
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	out := make([]loadgen.Payload, len(files))
	for i, f := range files {
		ct := contentType
		if ct == "" {
			ct = ContentTypeOf(f.name)
		}
		out[i] = loadgen.Payload{Body: f.body, ContentType: ct}
	}
	return out, nil
}

// ContentTypeOf guesses a payload's content type from its extension.
func ContentTypeOf(name string) string {
	switch ext := strings.ToLower(path.Ext(name)); ext {
	case ".json", ".jsonl":
		return "application/json"
	case ".csv":
		return "text/csv"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
		return "application/octet-stream"
	}
}
