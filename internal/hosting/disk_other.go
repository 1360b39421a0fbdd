//go:build !linux

package hosting

import "errors"

// diskUtilization is measured on Linux only.
func diskUtilization(path string) (float64, error) {
	return 0, errors.New("disk utilization is measured on Linux only")
}
