//go:build unix

package pack

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is this process's user+system CPU time. The machine is shared, so
// wall time per op swings with the neighbours' load; CPU per op does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a cpu-ms/op metric for the loop that started at start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// benchTree writes the DESIGN §5 tree: 10,000 files, 200 MB (9,900 files
// of 1–19 KiB and 100 of about 1 MiB, random content), in 100 directories,
// with a .gitignore. It waits out the racy window so the first scan can
// cache every file, as it would for a tree not edited in the last seconds.
func benchTree(b *testing.B) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	src := rand.NewChaCha8([32]byte{1})
	rng := rand.New(src)
	var total int64
	buf := make([]byte, 2<<20)
	for i := range 10000 {
		size := 1024 + rng.IntN(18*1024)
		if i%100 == 99 {
			size = 1<<20 + rng.IntN(64*1024)
		}
		_, _ = src.Read(buf[:size])
		p := filepath.Join(dir, fmt.Sprintf("d%02d/f%04d.bin", i%100, i))
		if i < 100 {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(p, buf[:size], 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(size)
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.o\nbuild/\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	time.Sleep(racyWindow + 100*time.Millisecond)
	return dir, total
}

// BenchmarkScan10k measures Scan of the 10,000-file / 200 MB tree:
//   - cold: empty hash cache, every file read and hashed (page cache warm);
//   - warm: unchanged tree, cache from the previous scan, nothing read;
//   - one-change: one file rewritten; reports the blobs an upload would send.
func BenchmarkScan10k(b *testing.B) {
	dir, total := benchTree(b)
	b.Logf("tree: 10000 files, %d bytes", total)
	ctx := b.Context()

	b.Run("cold", func(b *testing.B) {
		b.SetBytes(total)
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			cache := b.TempDir()
			m, err := Scan(ctx, dir, Options{CacheDir: cache})
			if err != nil {
				b.Fatal(err)
			}
			if m.Report.Hashed != 10001 { // with the .gitignore
				b.Fatalf("hashed %d", m.Report.Hashed)
			}
		}
	})

	cache := b.TempDir()
	base, err := Scan(ctx, dir, Options{CacheDir: cache})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("warm", func(b *testing.B) {
		var hashed int
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			m, err := Scan(ctx, dir, Options{CacheDir: cache})
			if err != nil {
				b.Fatal(err)
			}
			hashed += m.Report.Hashed
		}
		b.ReportMetric(float64(hashed)/float64(b.N), "files-hashed/op")
	})

	have := map[string]bool{}
	for _, bl := range base.Blobs() {
		have[bl.SHA256] = true
	}
	b.Run("one-change", func(b *testing.B) {
		var missing, missingBytes, i int
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			b.StopTimer()
			i++
			if err := os.WriteFile(filepath.Join(dir, "d05/f0005.bin"), fmt.Appendf(nil, "edit %d", i), 0o644); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			m, err := Scan(ctx, dir, Options{CacheDir: cache})
			if err != nil {
				b.Fatal(err)
			}
			for _, bl := range m.Missing(func(h string) bool { return have[h] }) {
				missing++
				missingBytes += int(bl.Size)
			}
		}
		b.ReportMetric(float64(missing)/float64(b.N), "missing-blobs/op")
		b.ReportMetric(float64(missingBytes)/float64(b.N), "missing-bytes/op")
	})
}

// BenchmarkAssemble10k measures rebuilding the 200 MB tree from a blob
// store on the same filesystem (copy_file_range here; reflinks where the
// filesystem has them).
func BenchmarkAssemble10k(b *testing.B) {
	dir, total := benchTree(b)
	ctx := b.Context()
	m, err := Scan(ctx, dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	blobs := b.TempDir()
	for _, bl := range m.Blobs() {
		data, err := os.ReadFile(filepath.Join(dir, bl.Path))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(blobs, bl.SHA256), data, 0o444); err != nil {
			b.Fatal(err)
		}
	}
	blobPath := func(h string) (string, error) { return filepath.Join(blobs, h), nil }
	b.SetBytes(total)
	out := b.TempDir()
	i := 0
	var cpu time.Duration
	for b.Loop() {
		i++
		dst := filepath.Join(out, fmt.Sprint(i))
		c := cpuTime()
		if err := Assemble(ctx, m, dst, blobPath); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c
		b.StopTimer()
		if err := os.RemoveAll(dst); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkWriteArchive10k measures the one-object upload for AWS targets
// (random content, so deflate finds nothing to compress: the worst case).
func BenchmarkWriteArchive10k(b *testing.B) {
	dir, total := benchTree(b)
	ctx := b.Context()
	m, err := Scan(ctx, dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range []Format{FormatTarGz, FormatZip} {
		b.Run(string(f), func(b *testing.B) {
			b.SetBytes(total)
			defer reportCPU(b, cpuTime())
			for b.Loop() {
				if err := WriteArchive(ctx, io.Discard, dir, m, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
