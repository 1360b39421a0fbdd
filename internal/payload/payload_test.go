package payload

import "testing"

func TestContentTypeOf(t *testing.T) {
	for name, want := range map[string]string{
		"a.json": "application/json", "b.JSONL": "application/json", "c.csv": "text/csv",
		"d.txt": "text/plain; charset=utf-8", "e.npy": "application/octet-stream", "f": "application/octet-stream",
	} {
		if got := ContentTypeOf(name); got != want {
			t.Errorf("ContentTypeOf(%s) = %q, want %q", name, got, want)
		}
	}
}
