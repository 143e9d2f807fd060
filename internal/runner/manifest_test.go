package runner

import (
	"bytes"
	"compress/gzip"
	"testing"
)

func TestGunzipManifest(t *testing.T) {
	plain := []byte(`{"version":1,"entries":[]}`)
	if got, err := gunzipManifest(plain); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("JSON passes through: %q %v", got, err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(plain)
	zw.Close()
	if got, err := gunzipManifest(z.Bytes()); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("gzip: %q %v", got, err)
	}
	// A gzip bomb stops at the bound instead of filling memory.
	z.Reset()
	zw = gzip.NewWriter(&z)
	zero := make([]byte, 1<<20)
	for i := 0; i < maxManifest>>20+1; i++ {
		zw.Write(zero)
	}
	zw.Close()
	if _, err := gunzipManifest(z.Bytes()); err == nil {
		t.Error("a manifest over the bound was accepted")
	}
	if _, err := gunzipManifest([]byte{0x1f, 0x8b, 1, 2}); err == nil {
		t.Error("broken gzip accepted")
	}
}
