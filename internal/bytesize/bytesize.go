// Package bytesize renders byte counts for people. It is the one format
// Hangar shows sizes in, so the client's lines (remote) and warnings
// (pack) agree; it imports nothing of Hangar's, so any package can use it.
package bytesize

import "fmt"

// Format renders a size in decimal (SI) units: 512 B, 1.5 kB, 200.0 MB.
func Format(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
