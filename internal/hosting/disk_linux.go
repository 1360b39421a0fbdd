package hosting

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// diskUtilization returns the use of the file system path is on, in
// percent, as df computes it: used blocks over those used and those
// available to unprivileged users.
func diskUtilization(path string) (float64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	used := st.Blocks - st.Bfree
	if used+st.Bavail == 0 {
		return 0, nil
	}
	return float64(used) / float64(used+st.Bavail) * 100, nil
}
