package sandbox

import (
	"bytes"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
)

const testNonce = "0123456789abcdef0123456789abcdef"

func marker(body string) string { return "\x1eHANGAR:" + testNonce + ":" + body + "\x1e" }

// feedChunks feeds s to a reader waiting for seq, split at the given sizes,
// and returns the data output and the delivered code (-1 if none).
func feedChunks(s string, seq uint64, sizes func(i int) int) (string, int) {
	var out bytes.Buffer
	r := newOutputReader(&out, testNonce, slog.New(slog.DiscardHandler))
	res := r.expect(seq)
	b := []byte(s)
	for i := 0; len(b) > 0; i++ {
		n := min(max(sizes(i), 1), len(b))
		r.feed(b[:n])
		b = b[n:]
	}
	r.flushCand()
	select {
	case c := <-res:
		return out.String(), c
	default:
		return out.String(), -1
	}
}

func TestOutputReader(t *testing.T) {
	cases := []struct {
		name, in, out string
		code          int
	}{
		{"plain", "hello\n" + "out\nlast" + marker("E1:0"), "hello\nout\nlast", 0},
		{"status", "x" + marker("E1:42"), "x", 42},
		{"other seq ignored", marker("E2:5") + "y" + marker("E1:3"), "y", 3},
		{"shell exit during the command", "bye\n" + marker("X1:3"), "bye\n", 3},
		{"shell exit between commands ignored", marker("X0:137") + marker("X2:1") + marker("E1:4"), "", 4},
		{"lone separators", "\x1e\x1e a \x1eHANG\x1e" + marker("E1:0"), "\x1e\x1e a \x1eHANG\x1e", 0},
		{"wrong nonce", "\x1eHANGAR:feedface:E1:0\x1e" + marker("E1:1"), "\x1eHANGAR:feedface:E1:0\x1e", 1},
		{"bad body", "\x1eHANGAR:" + testNonce + ":E1:0 \x1e" + marker("E1:2"), "\x1eHANGAR:" + testNonce + ":E1:0 \x1e", 2},
		{"malformed markers ignored", marker("E1") + marker("X") + marker("E:1") + marker("E1:2"), "", 2},
		{"no marker", "abc\x1eHANGAR:", "abc\x1eHANGAR:", -1},
		{"too long", "\x1eHANGAR:" + testNonce + ":" + strings.Repeat("1", 200) + "\x1e", "\x1eHANGAR:" + testNonce + ":" + strings.Repeat("1", 200) + "\x1e", -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sizes := map[string]func(int) int{
				"whole": func(int) int { return len(c.in) },
				"bytes": func(int) int { return 1 },
				"3s":    func(i int) int { return 3 + i%2 },
			}
			for split := 1; split < len(c.in); split++ {
				sizes["split"] = func(i int) int {
					if i == 0 {
						return split
					}
					return len(c.in)
				}
				for name, f := range sizes {
					out, code := feedChunks(c.in, 1, f)
					if out != c.out || code != c.code {
						t.Fatalf("%s/%d: got %q %d, want %q %d", name, split, out, code, c.out, c.code)
					}
				}
			}
		})
	}
}

func TestOutputReaderEOF(t *testing.T) {
	var out bytes.Buffer
	r := newOutputReader(&out, testNonce, slog.New(slog.DiscardHandler))
	r.run(strings.NewReader("tail\x1eHANGAR:01"))
	<-r.eof
	if out.String() != "tail\x1eHANGAR:01" {
		t.Fatalf("held bytes lost at EOF: %q", out.String())
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) { f.n++; return 0, io.ErrClosedPipe }

func TestOutputReaderWriterFails(t *testing.T) {
	w := &failWriter{}
	r := newOutputReader(w, testNonce, slog.New(slog.DiscardHandler))
	res := r.expect(1)
	r.feed([]byte("a" + marker("E2:0") + "b" + marker("E1:0")))
	if c := <-res; c != 0 {
		t.Fatalf("code %d", c)
	}
	if w.n != 1 {
		t.Fatalf("wrote %d times after the first failure", w.n)
	}
}

// FuzzOutputReader checks that any data interleaved with markers comes out
// unchanged, whatever the chunking, and that the status gets through.
func FuzzOutputReader(f *testing.F) {
	f.Add([]byte("hello\n"), []byte("world"), uint8(3), uint8(7))
	f.Add([]byte("\x1eHANGAR:"), []byte("\x1e\x1e"), uint8(1), uint8(0))
	f.Add([]byte("\x1eHANGAR:"+testNonce), []byte(":E1:0"), uint8(2), uint8(255))
	f.Fuzz(func(t *testing.T, a, b []byte, chunk, code uint8) {
		if bytes.Contains(append(append([]byte{}, a...), b...), []byte(testNonce)) {
			t.Skip("data that carries the nonce is a marker by definition")
		}
		in := string(a) + marker("X0:9") + string(b) + marker("E1:"+strconv.Itoa(int(code)))
		out, got := feedChunks(in, 1, func(i int) int { return int(chunk) + i%3 })
		if out != string(a)+string(b) || got != int(code) {
			t.Fatalf("got %q %d", out, got)
		}
	})
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"a": "'a'", "it's": `'it'\''s'`, "": "''", "/dev/.hangar": "'/dev/.hangar'"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"0f8fad5b-d9cb-469f-a165-70867728950e": true, "proj:build.1_x": true, "a": true,
		"": false, ".": false, "..": false, "-x": false, "a/b": false, "a b": false, strings.Repeat("a", 129): false,
	} {
		if validID(id) != want {
			t.Errorf("validID(%q) = %v", id, !want)
		}
	}
}
