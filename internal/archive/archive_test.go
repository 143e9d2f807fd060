package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tree is what the round-trip tests pack.
var tree = []ent{
	dir("src", 0o755),
	file("src/main.sh", "#!/bin/sh\necho hi\n", 0o755),
	file("src/data.txt", "data", 0o640),
	dir("empty", 0o700),
	file("deep/a/b/c.txt", "deep", 0o644), // parents only implied
	symlink("src/link", "../deep/a/b/c.txt"),
	symlink("dirlink", "src"),
	symlink("dangling", "nothing/here"),
}

type format struct {
	name  string
	build func(testing.TB, []ent) []byte
}

func formats() []format {
	return []format{
		{"tar", makeTar},
		{"tar.gz", func(t testing.TB, e []ent) []byte { return gzipBytes(t, makeTar(t, e)) }},
		{"tar.zst", func(t testing.TB, e []ent) []byte { return zstdBytes(t, makeTar(t, e)) }},
		{"zip", makeZip},
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func TestRoundTrip(t *testing.T) {
	for _, f := range formats() {
		t.Run(f.name, func(t *testing.T) {
			s := newSandbox(t)
			data := f.build(t, tree)
			for _, via := range []string{"Unpack", "UnpackReader"} {
				if via == "UnpackReader" {
					s = newSandbox(t)
				}
				var st Stats
				var err error
				if via == "Unpack" {
					st, err = s.unpack(data, Options{})
				} else {
					st, err = UnpackReader(context.Background(), bytes.NewReader(data), s.dst, Options{})
				}
				if err != nil {
					t.Fatalf("%s: %v", via, err)
				}
				want := Stats{Files: 3, Dirs: 5, Links: 3, Bytes: int64(len("#!/bin/sh\necho hi\n") + len("data") + len("deep"))}
				if st != want {
					t.Errorf("%s stats = %+v, want %+v", via, st, want)
				}
				d := s.dst
				if got := readFile(t, filepath.Join(d, "src/main.sh")); got != "#!/bin/sh\necho hi\n" {
					t.Errorf("main.sh = %q", got)
				}
				if m := mode(t, filepath.Join(d, "src/main.sh")); m != 0o755 {
					t.Errorf("main.sh mode = %v", m)
				}
				if m := mode(t, filepath.Join(d, "src/data.txt")); m != 0o640 {
					t.Errorf("data.txt mode = %v", m)
				}
				if m := mode(t, filepath.Join(d, "empty")); m != fs.ModeDir|0o700 {
					t.Errorf("empty dir mode = %v", m)
				}
				if got := readFile(t, filepath.Join(d, "src/link")); got != "deep" {
					t.Errorf("through link = %q", got)
				}
				for link, target := range map[string]string{"src/link": "../deep/a/b/c.txt", "dirlink": "src", "dangling": "nothing/here"} {
					if got, err := os.Readlink(filepath.Join(d, link)); err != nil || got != target {
						t.Errorf("readlink %s = %q, %v", link, got, err)
					}
				}
				fi, err := os.Stat(filepath.Join(d, "src/data.txt"))
				if err != nil || !fi.ModTime().Equal(testTime) {
					t.Errorf("mtime = %v, %v", fi.ModTime(), err)
				}
				fi, err = os.Stat(filepath.Join(d, "src"))
				if err != nil || !fi.ModTime().Equal(testTime) {
					t.Errorf("dir mtime = %v, %v", fi.ModTime(), err)
				}
				s.check(t)
			}
		})
	}
}

func TestTarHardLinkAndSpecials(t *testing.T) {
	s := newSandbox(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// git archive starts with a pax global header holding the commit id.
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "abc123"}}))
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755}))
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "./bin/tool", Mode: 0o4755, Size: 2}))
	_, _ = tw.Write([]byte("hi"))
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeLink, Name: "./bin/alias", Linkname: "./bin/tool"}))
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "ro/", Mode: 0o555}))
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "ro/f", Mode: 0o444, Size: 1}))
	_, _ = tw.Write([]byte("x"))
	must(t, tw.Close())
	st, err := s.unpack(buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st != (Stats{Files: 2, Dirs: 2, Links: 1, Bytes: 3}) {
		t.Errorf("stats = %+v", st)
	}
	a, _ := os.Stat(filepath.Join(s.dst, "bin/tool"))
	b, _ := os.Stat(filepath.Join(s.dst, "bin/alias"))
	if !os.SameFile(a, b) {
		t.Error("bin/alias is not a hard link to bin/tool")
	}
	if m := a.Mode(); m != 0o755 {
		t.Errorf("setuid not stripped: %v", m)
	}
	// Owner keeps rwx on directories so the tree can be removed.
	if m := mode(t, filepath.Join(s.dst, "ro")); m != fs.ModeDir|0o755 {
		t.Errorf("ro mode = %v", m)
	}
	s.check(t)
}

func TestDuplicateEntries(t *testing.T) {
	s := newSandbox(t)
	data := makeTar(t, []ent{
		file("a", "old", 0o644),
		file("a", "new", 0o644), // tar -r appends a newer copy
		file("b", "file", 0o644),
		symlink("b", "a"), // a link replaces a file
		symlink("c", "a"),
		file("c", "file again", 0o644), // a file replaces a link, not writing through it
	})
	if _, err := s.unpack(data, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(s.dst, "a")); got != "new" {
		t.Errorf("a = %q", got)
	}
	if m := mode(t, filepath.Join(s.dst, "b")); m&fs.ModeSymlink == 0 {
		t.Errorf("b mode = %v", m)
	}
	if m := mode(t, filepath.Join(s.dst, "c")); !m.IsRegular() {
		t.Errorf("c mode = %v", m)
	}
	s.check(t)

	s = newSandbox(t)
	_, err := s.unpack(makeTar(t, []ent{dir("d", 0), file("d", "x", 0)}), Options{})
	if err == nil || !strings.Contains(err.Error(), "would replace directory d") {
		t.Errorf("file over directory: %v", err)
	}
	s.check(t)
}

func TestEvil(t *testing.T) {
	tests := []struct {
		name    string
		ents    []ent
		zipOnly bool
		tarOnly bool
		entry   string // the entry the error must name
		reason  string
	}{
		{name: "dot-dot", ents: []ent{file("../outside", "pwned", 0)}, entry: "../outside", reason: `path has a ".." component`},
		{name: "dot-dot inside", ents: []ent{file("a/../../outside", "pwned", 0)}, entry: "a/../../outside", reason: `path has a ".." component`},
		{name: "harmless dot-dot", ents: []ent{file("a/../b", "x", 0)}, entry: "a/../b", reason: `path has a ".." component`},
		{name: "absolute", ents: []ent{file("/etc/x", "pwned", 0)}, entry: "/etc/x", reason: "absolute path"},
		{name: "zip slip backslash", ents: []ent{file(`..\outside`, "pwned", 0)}, entry: `..\outside`, reason: `path has a ".." component`},
		{name: "zip slip deep backslash", ents: []ent{file(`a\..\..\outside`, "pwned", 0)}, entry: `a\..\..\outside`, reason: `path has a ".." component`},
		{name: "backslash absolute", ents: []ent{file(`\etc\x`, "pwned", 0)}, entry: `\etc\x`, reason: "absolute path"},
		{name: "symlink to /etc", ents: []ent{symlink("a", "/etc"), file("a/passwd", "pwned", 0)}, entry: "a", reason: `absolute symbolic link target "/etc"`},
		{name: "write through inside symlink", ents: []ent{dir("d", 0), symlink("a", "d"), file("a/x", "x", 0)}, entry: "a/x", reason: `path goes through symbolic link "a"`},
		{name: "symlink up", ents: []ent{symlink("a", "../..")}, entry: "a", reason: `symbolic link target "../.." resolves outside the destination`},
		{name: "symlink up from subdir", ents: []ent{symlink("sub/a", "../../outside")}, entry: "sub/a", reason: `symbolic link target "../../outside" resolves outside the destination`},
		{name: "symlink chain", ents: []ent{symlink("d/up", ".."), symlink("d/x", "up/..")}, entry: "d/x", reason: `symbolic link target "up/.." resolves outside the destination`},
		{
			// Harmless when made, escaping once d/a exists: caught at the end.
			name: "symlink made unsafe later", ents: []ent{symlink("d/x", "a/../../y"), symlink("d/a", "..")},
			entry: "d/x", reason: `symbolic link target "a/../../y" resolves outside the destination`,
		},
		{name: "symlink loop", ents: []ent{symlink("a", "b/x"), symlink("b", "a")}, entry: "a", reason: "too many levels of symbolic links"},
		{name: "empty symlink", ents: []ent{symlink("a", "")}, entry: "a", reason: "empty symbolic link target"},
		{name: "hard link to /etc/passwd", ents: []ent{hardlink("p", "/etc/passwd")}, tarOnly: true, entry: "p", reason: `hard link to "/etc/passwd", outside the archive`},
		{name: "hard link up", ents: []ent{hardlink("p", "../outside")}, tarOnly: true, entry: "p", reason: `hard link to "../outside", outside the archive`},
		{name: "hard link to unknown", ents: []ent{hardlink("p", "later"), file("later", "x", 0)}, tarOnly: true, entry: "p", reason: "not a regular file unpacked from this archive"},
		{name: "hard link to symlink", ents: []ent{symlink("s", "x"), hardlink("p", "s")}, tarOnly: true, entry: "p", reason: "not a regular file unpacked from this archive"},
		{name: "hard link to dir", ents: []ent{dir("d", 0), hardlink("p", "d")}, tarOnly: true, entry: "p", reason: "not a regular file unpacked from this archive"},
		{name: "char device", ents: []ent{{name: "null", typ: tar.TypeChar, mode: 0o666}}, entry: "null", reason: "are not allowed"},
		{name: "block device", ents: []ent{{name: "sda", typ: tar.TypeBlock, mode: 0o660}}, tarOnly: true, entry: "sda", reason: "are not allowed"},
		{name: "fifo", ents: []ent{{name: "fifo", typ: tar.TypeFifo, mode: 0o644}}, entry: "fifo", reason: "are not allowed"},
		{name: "file over dst", ents: []ent{file(".", "x", 0)}, tarOnly: true, entry: ".", reason: "would replace the destination directory"},
	}
	for _, tc := range tests {
		for _, f := range formats() {
			isZip := f.name == "zip"
			if (tc.zipOnly && !isZip) || (tc.tarOnly && isZip) {
				continue
			}
			t.Run(tc.name+"/"+f.name, func(t *testing.T) {
				s := newSandbox(t)
				_, err := s.unpack(f.build(t, tc.ents), Options{})
				var ee *EntryError
				if !errors.As(err, &ee) {
					t.Fatalf("err = %v, want an *EntryError", err)
				}
				if ee.Name != tc.entry || !strings.Contains(err.Error(), tc.reason) {
					t.Errorf("err = %v\nwant entry %q, reason %q", err, tc.entry, tc.reason)
				}
				if !errors.Is(err, ErrUnsafe) {
					t.Errorf("err = %v is not ErrUnsafe", err)
				}
				s.check(t)
			})
		}
	}
}

func TestZipBackslashNames(t *testing.T) {
	// Windows tools write \ in zip names; the format allows only /.
	s := newSandbox(t)
	if _, err := s.unpack(makeZip(t, []ent{file(`dir\file.txt`, "x", 0)}), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(s.dst, "dir", "file.txt")); got != "x" {
		t.Errorf("dir/file.txt = %q", got)
	}
	s.check(t)
}

func TestLimits(t *testing.T) {
	many := []ent{file("a", "1", 0), file("b", "2", 0), file("c", "3", 0)}
	big := []ent{file("small", "12345", 0), file("big", strings.Repeat("x", 100), 0)}
	tests := []struct {
		name   string
		ents   []ent
		opts   Options
		reason string
	}{
		{"entries", many, Options{MaxEntries: 2}, "archive has more than 2 entries"},
		{"implied directories", []ent{file("a/b/c/d/e", "x", 0)}, Options{MaxEntries: 3}, "archive has more than 3 entries"},
		{"file size", big, Options{MaxFileBytes: 50}, "file is larger than 50 bytes"},
		{"total size", big, Options{MaxTotalBytes: 60}, "archive unpacks to more than 60 bytes"},
	}
	for _, tc := range tests {
		for _, f := range formats() {
			t.Run(tc.name+"/"+f.name, func(t *testing.T) {
				s := newSandbox(t)
				_, err := s.unpack(f.build(t, tc.ents), tc.opts)
				if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), tc.reason) {
					t.Errorf("err = %v, want %q", err, tc.reason)
				}
				s.check(t)
			})
		}
	}
}

func TestCompressionBomb(t *testing.T) {
	// 16 MiB of zeros packs into a few KiB; the limit must stop the write.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "zeros", Mode: 0o644, Size: 16 << 20}))
	zero := make([]byte, 1<<20)
	for range 16 {
		_, _ = tw.Write(zero)
	}
	must(t, tw.Close())
	for name, data := range map[string][]byte{"tar.gz": gzipBytes(t, buf.Bytes()), "tar.zst": zstdBytes(t, buf.Bytes())} {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			_, err := s.unpack(data, Options{MaxFileBytes: 1 << 20})
			if !errors.Is(err, ErrLimit) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestUnsupported(t *testing.T) {
	tests := map[string][]byte{
		"empty":        nil,
		"text":         []byte("hello, this is not an archive"),
		"bzip2":        []byte("BZh91AY&SY"),
		"xz":           []byte("\xfd7zXZ\x00\x00"),
		"gzip of text": gzipBytes(t, []byte("just text")),
		"zstd of text": zstdBytes(t, []byte("just text")),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			_, err := s.unpack(data, Options{})
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("err = %v", err)
			}
			if _, err := UnpackReader(context.Background(), bytes.NewReader(data), s.dst, Options{}); !errors.Is(err, ErrUnsupported) {
				t.Errorf("UnpackReader err = %v", err)
			}
		})
	}
	// Corrupt archives fail with the reader's error, not a panic.
	s := newSandbox(t)
	z := makeZip(t, tree)
	if _, err := s.unpack(z[:len(z)-30], Options{}); err == nil {
		t.Error("truncated zip accepted")
	}
	tgz := gzipBytes(t, makeTar(t, tree))
	if _, err := s.unpack(tgz[:len(tgz)/2], Options{}); err == nil {
		t.Error("truncated tar.gz accepted")
	}
}

func TestDetect(t *testing.T) {
	for _, f := range formats() {
		data := f.build(t, tree)
		want := map[string]Format{"tar": FormatTar, "tar.gz": FormatGzip, "tar.zst": FormatZstd, "zip": FormatZip}[f.name]
		if got := Detect(data[:min(len(data), headSize)]); got != want {
			t.Errorf("Detect(%s) = %v", f.name, got)
		}
	}
	if Detect(make([]byte, 1024)) != FormatTar {
		t.Error("an empty tar (zero blocks) is a tar")
	}
	if Detect(makeZip(t, nil)) != FormatZip {
		t.Error("an empty zip is a zip")
	}
	// A pre-POSIX (v7) header has no magic, only a checksum.
	v7 := makeTar(t, []ent{file("a", "b", 0)})[:headSize]
	copy(v7[257:265], make([]byte, 8))
	fixChecksum(v7)
	if Detect(v7) != FormatTar {
		t.Error("v7 tar header not detected")
	}
	if Detect([]byte("PK")) != FormatUnknown || Detect(nil) != FormatUnknown {
		t.Error("short input detected")
	}
}

func fixChecksum(block []byte) {
	copy(block[148:156], "        ")
	var sum int
	for _, c := range block {
		sum += int(c)
	}
	copy(block[148:156], []byte(strings.Repeat("0", 6-len(octal(sum)))+octal(sum)+"\x00 "))
}

func octal(n int) string {
	if n == 0 {
		return "0"
	}
	var s string
	for ; n > 0; n /= 8 {
		s = string(rune('0'+n%8)) + s
	}
	return s
}

func TestEmptyArchives(t *testing.T) {
	for _, f := range formats() {
		t.Run(f.name, func(t *testing.T) {
			s := newSandbox(t)
			st, err := s.unpack(f.build(t, nil), Options{})
			if err != nil || st != (Stats{}) {
				t.Errorf("stats %+v, err %v", st, err)
			}
		})
	}
}

func TestContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, f := range formats() {
		s := newSandbox(t)
		data := f.build(t, tree)
		if _, err := Unpack(ctx, bytes.NewReader(data), int64(len(data)), s.dst, Options{}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v", f.name, err)
		}
	}
}

func TestDestinationMustExist(t *testing.T) {
	data := makeTar(t, tree)
	_, err := Unpack(context.Background(), bytes.NewReader(data), int64(len(data)), filepath.Join(t.TempDir(), "missing"), Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

// TestRealTools unpacks what zip --symlinks and GNU tar make.
func TestRealTools(t *testing.T) {
	src := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(src, "tree/bin"), 0o755))
	must(t, os.MkdirAll(filepath.Join(src, "tree/empty"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "tree/bin/run"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "tree/README"), []byte("read me"), 0o644))
	must(t, os.Symlink("bin/run", filepath.Join(src, "tree/run")))
	must(t, os.Symlink("README", filepath.Join(src, "tree/bin/../readme-link")))
	cmds := map[string][]string{
		"zip":     {"zip", "-q", "-r", "--symlinks", "out.zip", "tree"},
		"tar.gz":  {"tar", "-czf", "out.tgz", "tree"},
		"tar.zst": {"tar", "--zstd", "-cf", "out.tzst", "tree"},
	}
	outs := map[string]string{"zip": "out.zip", "tar.gz": "out.tgz", "tar.zst": "out.tzst"}
	for name, argv := range cmds {
		t.Run(name, func(t *testing.T) {
			if _, err := exec.LookPath(argv[0]); err != nil {
				t.Skipf("%s not installed", argv[0])
			}
			if name == "tar.zst" {
				if _, err := exec.LookPath("zstd"); err != nil {
					t.Skip("zstd not installed")
				}
			}
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Dir = src
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %v\n%s", argv, err, out)
			}
			f, err := os.Open(filepath.Join(src, outs[name]))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, _ := f.Stat()
			s := newSandbox(t)
			if _, err := Unpack(context.Background(), f, fi.Size(), s.dst, Options{}); err != nil {
				t.Fatal(err)
			}
			if got, err := os.Readlink(filepath.Join(s.dst, "tree/run")); err != nil || got != "bin/run" {
				t.Errorf("tree/run link = %q, %v", got, err)
			}
			if got, err := os.Readlink(filepath.Join(s.dst, "tree/readme-link")); err != nil || got != "README" {
				t.Errorf("tree/readme-link = %q, %v", got, err)
			}
			if m := mode(t, filepath.Join(s.dst, "tree/bin/run")); m != 0o755 {
				t.Errorf("bin/run mode = %v", m)
			}
			if m := mode(t, filepath.Join(s.dst, "tree/empty")); !m.IsDir() {
				t.Errorf("empty dir mode = %v", m)
			}
			s.check(t)
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestUnsafeLinkRemovedOnError(t *testing.T) {
	// d/x is harmless until d/a -> .. arrives; then the archive breaks off.
	// The failed unpack must not leave d/x behind pointing outside.
	good := makeTar(t, []ent{symlink("d/x", "a/../../y"), symlink("d/a", ".."), file("f", strings.Repeat("z", 600), 0)})
	broken := good[:3*headSize+100] // into the body of f
	s := newSandbox(t)
	_, err := s.unpack(broken, Options{})
	if err == nil || !errors.Is(err, ErrUnsafe) {
		t.Fatalf("err = %v, want the read error joined with the unsafe link", err)
	}
	if _, lerr := os.Lstat(filepath.Join(s.dst, "d/x")); !errors.Is(lerr, fs.ErrNotExist) {
		t.Errorf("d/x still there: %v", lerr)
	}
	s.check(t)
}

func TestPreexistingSymlinkInDestination(t *testing.T) {
	// Links already in dst (not from the archive) are not trusted either.
	for name, ents := range map[string][]ent{
		"write through":  {file("out/passwd", "pwned", 0)},
		"link through":   {symlink("x", "out/passwd")},
		"link up and in": {symlink("x", "in/../..")},
	} {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			must(t, os.Symlink(s.parent, filepath.Join(s.dst, "out")))
			must(t, os.Symlink(".", filepath.Join(s.dst, "in")))
			_, err := s.unpack(makeTar(t, ents), Options{})
			if !errors.Is(err, ErrUnsafe) {
				t.Fatalf("err = %v", err)
			}
			must(t, os.Remove(filepath.Join(s.dst, "out")))
			s.check(t)
		})
	}
}

func TestFormatString(t *testing.T) {
	for f, want := range map[Format]string{FormatZip: "zip", FormatTar: "tar", FormatGzip: "gzip", FormatZstd: "zstd", FormatUnknown: "unknown"} {
		if f.String() != want {
			t.Errorf("%d.String() = %q", f, f.String())
		}
	}
}
