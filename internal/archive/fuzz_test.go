package archive

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// FuzzUnpack feeds arbitrary bytes to Unpack and checks that nothing is
// written outside the destination and no symbolic link inside leads out.
func FuzzUnpack(f *testing.F) {
	seeds := [][]ent{
		tree,
		{file("../x", "x", 0)},
		{symlink("a", "/etc"), file("a/passwd", "x", 0)},
		{symlink("a", "../..")},
		{symlink("d/x", "a/../../y"), symlink("d/a", "..")},
		{file("f", "x", 0), hardlink("h", "f"), hardlink("p", "/etc/passwd")},
		{file(`..\x`, "x", 0)},
		{dir("d", 0o555), file("d/f", "x", 0o4755)},
	}
	for _, s := range seeds {
		for _, fm := range formats() {
			if fm.name == "zip" && hasHardlink(s) {
				continue
			}
			f.Add(fm.build(f, s))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandbox(t)
		opts := Options{MaxTotalBytes: 1 << 20, MaxFileBytes: 1 << 20, MaxEntries: 1000}
		st, err := Unpack(context.Background(), bytes.NewReader(data), int64(len(data)), s.dst, opts)
		if err == nil && (st.Bytes > opts.MaxTotalBytes || st.Files+st.Links > opts.MaxEntries) {
			t.Fatalf("limits not kept: %+v", st)
		}
		var ee *EntryError
		if errors.As(err, &ee) && ee.Name == "" && !errors.Is(err, ErrUnsafe) {
			t.Fatalf("entry error without a name: %v", err)
		}
		s.check(t)
	})
}

func hasHardlink(ents []ent) bool {
	for _, e := range ents {
		if e.typ == '1' {
			return true
		}
	}
	return false
}
