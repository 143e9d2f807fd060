//go:build unix

package pack

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteArchive → unpack with the standard library → the same tree,
// including the links that point out of the tree (an archive keeps them as
// links; refusing them is the unpacker's business).
func TestWriteArchiveRoundTrip(t *testing.T) {
	src := t.TempDir()
	goldenTree(t, src)
	m, err := Scan(ctxT(t), src, goldenOpts)
	if err != nil {
		t.Fatal(err)
	}
	want := expectedTree(t, src, m)
	for _, format := range []Format{FormatTarGz, FormatZip} {
		t.Run(string(format), func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteArchive(ctxT(t), &buf, src, m, format); err != nil {
				t.Fatal(err)
			}
			dst := t.TempDir()
			if format == FormatZip {
				unzipStd(t, buf.Bytes(), dst)
			} else {
				untarStd(t, buf.Bytes(), dst)
			}
			compareTrees(t, snapshot(t, dst), want)

			var again bytes.Buffer
			if err := WriteArchive(ctxT(t), &again, src, m, format); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), again.Bytes()) {
				t.Error("archive of the same manifest is not reproducible")
			}
		})
	}
}

func TestWriteArchiveChangedFile(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"a": "12345", "b": "x"})
	m, err := Scan(ctxT(t), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"same size": "54321", "shorter": "1", "longer": "1234567"} {
		os.WriteFile(filepath.Join(src, "a"), []byte(content), 0o644)
		err := WriteArchive(ctxT(t), io.Discard, src, m, FormatZip)
		if err == nil || !strings.Contains(err.Error(), "changed since the scan") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// A file replaced by a symlink is not followed.
	os.Remove(filepath.Join(src, "a"))
	os.Symlink("b", filepath.Join(src, "a"))
	if err := WriteArchive(ctxT(t), io.Discard, src, m, FormatTarGz); err == nil {
		t.Error("followed a symlink that replaced a file")
	}
	if err := WriteArchive(ctxT(t), io.Discard, src, m, "rar"); err == nil {
		t.Error("unknown format accepted")
	}
}

// The zip must carry Unix modes the way "zip --symlinks" does, since that is
// what CodeBuild's unzip honours.
func TestWriteArchiveZipAttributes(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"run.sh": "#!/bin/sh\n", "l": "->run.sh", "d/": ""})
	os.Chmod(filepath.Join(src, "run.sh"), 0o755)
	m, err := Scan(ctxT(t), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteArchive(ctxT(t), &buf, src, m, FormatZip); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint32{"d/": 0o040755, "l": 0o120777, "run.sh": 0o100755}
	for _, f := range zr.File {
		if f.CreatorVersion>>8 != 3 {
			t.Errorf("%s: creator %d, want 3 (Unix)", f.Name, f.CreatorVersion>>8)
		}
		if got := f.ExternalAttrs >> 16; got != want[f.Name] {
			t.Errorf("%s: unix mode %o, want %o", f.Name, got, want[f.Name])
		}
	}
}

func untarStd(t *testing.T, data []byte, dst string) {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var dirs []*tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, filepath.FromSlash(strings.TrimSuffix(h.Name, "/")))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			dirs = append(dirs, h)
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, p); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			content, _ := io.ReadAll(tr)
			if err := os.WriteFile(p, content, 0o600); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, fs.FileMode(h.Mode).Perm())
		default:
			t.Fatalf("%s: type %c", h.Name, h.Typeflag)
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Chmod(filepath.Join(dst, dirs[i].Name), fs.FileMode(dirs[i].Mode).Perm())
	}
}

func unzipStd(t *testing.T, data []byte, dst string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []*zip.File
	for _, f := range zr.File {
		p := filepath.Join(dst, filepath.FromSlash(strings.TrimSuffix(f.Name, "/")))
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		content, _ := io.ReadAll(rc)
		rc.Close()
		switch mode := f.Mode(); {
		case mode.IsDir():
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			dirs = append(dirs, f)
		case mode&fs.ModeSymlink != 0:
			if err := os.Symlink(string(content), p); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, content, 0o600); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, mode.Perm())
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Chmod(filepath.Join(dst, strings.TrimSuffix(dirs[i].Name, "/")), dirs[i].Mode().Perm())
	}
}
