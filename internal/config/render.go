package config

import (
	"fmt"
	"io"
	"strings"
)

// Render writes what `hangar config` prints: the files read, then one
// "key = value  # source" line per effective value (keys aligned, in
// schema order, derived names last), then any warnings.
func (c *Config) Render(w io.Writer) error {
	var b strings.Builder
	if len(c.Files) == 0 {
		fmt.Fprintf(&b, "# no %s found; defaults apply\n", FileName)
	} else {
		fmt.Fprintf(&b, "# files: %s\n", strings.Join(c.Files, ", "))
	}
	width := 0
	for _, e := range c.entries {
		width = max(width, len(e.Key))
	}
	for _, e := range c.entries {
		fmt.Fprintf(&b, "%-*s = %s  # %s\n", width, e.Key, e.Value, e.Source)
	}
	for _, warn := range c.Warnings {
		fmt.Fprintf(&b, "# warning: %s\n", warn)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("render config: %w", err)
	}
	return nil
}
