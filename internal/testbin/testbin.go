// Package testbin builds the programs that tests run as real processes:
// model servers, test servers, the inferscale binary itself.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build builds the main package pkg (as `go build` takes it, relative to
// the test's package directory) into a new temporary directory, and returns
// the binary's path and a function that removes the directory.
func Build(pkg, name string) (path string, remove func(), err error) {
	dir, err := os.MkdirTemp("", name+"-test")
	if err != nil {
		return "", nil, fmt.Errorf("build %s: %w", pkg, err)
	}
	remove = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, name)
	if out, err := exec.Command("go", "build", "-o", path, pkg).CombinedOutput(); err != nil {
		remove()
		return "", nil, fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return path, remove, nil
}
