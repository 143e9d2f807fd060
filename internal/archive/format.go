package archive

import (
	"bytes"
	"strconv"
)

// Format is an archive format recognized by its first bytes.
type Format int

// Formats Unpack knows.
const (
	FormatUnknown Format = iota
	FormatZip
	FormatTar
	FormatGzip // a gzip stream; Unpack accepts it only around a tar
	FormatZstd // a zstd stream; Unpack accepts it only around a tar
)

func (f Format) String() string {
	switch f {
	case FormatZip:
		return "zip"
	case FormatTar:
		return "tar"
	case FormatGzip:
		return "gzip"
	case FormatZstd:
		return "zstd"
	}
	return "unknown"
}

// headSize is how many leading bytes Detect wants: one tar header block.
const headSize = 512

// Detect tells the format from the first bytes of an archive (up to 512).
func Detect(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")),
		bytes.HasPrefix(head, []byte("PK\x05\x06")), // empty zip
		bytes.HasPrefix(head, []byte("PK\x07\x08")): // spanned marker, then a local header
		return FormatZip
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return FormatGzip
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return FormatZstd
	case isTar(head):
		return FormatTar
	}
	return FormatUnknown
}

// isTar accepts a ustar/GNU/pax header, a pre-POSIX header whose checksum
// is right, or the all-zero block that ends an empty tar.
func isTar(head []byte) bool {
	if len(head) < headSize {
		return false
	}
	block := head[:headSize]
	if bytes.Equal(block[257:262], []byte("ustar")) {
		return true
	}
	if allZero(block) {
		return true
	}
	return tarChecksumOK(block)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// tarChecksumOK checks the header checksum: the byte sum with the checksum
// field counted as spaces, stored as octal in that field.
func tarChecksumOK(block []byte) bool {
	field := bytes.Trim(block[148:156], " \x00")
	if len(field) == 0 {
		return false
	}
	want, err := strconv.ParseUint(string(field), 8, 32)
	if err != nil {
		return false
	}
	var sum uint64
	for i, c := range block {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += uint64(c)
	}
	return sum == want
}
