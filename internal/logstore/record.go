package logstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

const (
	fileMagic = "HLOGv001"

	recHead    = 8  // u32 n, u32 crc
	recFixed   = 16 // i64 timestamp, i64 ingestion time
	recTail    = 4  // u32 n again
	recOverh   = recHead + recFixed + recTail
	maxBodyLen = recFixed + MaxMessageBytes

	// readChunk is how much a reader fetches at once; it is also the
	// spacing of the sparse index, so a seek reads at most about one chunk.
	readChunk     = 64 << 10
	indexInterval = readChunk
	maxHeaderMeta = 64 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a record that does not decode: a torn tail at Open, bit
// rot or a bug anywhere else.
var errCorrupt = errors.New("corrupt record")

type msgBytes interface{ ~string | ~[]byte }

// appendRecord encodes one event onto buf.
func appendRecord[M msgBytes](buf []byte, ts, ingest int64, msg M) []byte {
	n := uint32(recFixed + len(msg))
	start := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, n)
	buf = append(buf, 0, 0, 0, 0)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(ts))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(ingest))
	buf = append(buf, msg...)
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(buf[start+recHead:], castagnoli))
	return binary.LittleEndian.AppendUint32(buf, n)
}

// record is one decoded event; msg aliases the reader's buffer and is valid
// until the reader's next call.
type record struct {
	seq    int64
	ts     int64
	ingest int64
	msg    []byte
}

// streamMeta is the JSON in a stream file's header.
type streamMeta struct {
	Name         string `json:"name"`
	No           int64  `json:"no"`
	CreationTime int64  `json:"creationTime"`
}

func encodeHeader(m streamMeta) ([]byte, error) {
	js, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode stream header: %w", err)
	}
	b := append([]byte(fileMagic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[len(fileMagic):], uint32(len(js)))
	b = append(b, js...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(js, castagnoli)), nil
}

// readHeader reads a stream file's header and returns it with the offset of
// the first record.
func readHeader(f *os.File) (streamMeta, int64, error) {
	var m streamMeta
	pre := make([]byte, len(fileMagic)+4)
	if _, err := f.ReadAt(pre, 0); err != nil {
		return m, 0, fmt.Errorf("read header: %w", err)
	}
	if string(pre[:len(fileMagic)]) != fileMagic {
		return m, 0, fmt.Errorf("read header: bad magic %q", pre[:len(fileMagic)])
	}
	n := binary.LittleEndian.Uint32(pre[len(fileMagic):])
	if n > maxHeaderMeta {
		return m, 0, fmt.Errorf("read header: metadata length %d too large", n)
	}
	b := make([]byte, n+4)
	if _, err := f.ReadAt(b, int64(len(pre))); err != nil {
		return m, 0, fmt.Errorf("read header: %w", err)
	}
	if crc32.Checksum(b[:n], castagnoli) != binary.LittleEndian.Uint32(b[n:]) {
		return m, 0, errors.New("read header: checksum mismatch")
	}
	if err := json.Unmarshal(b[:n], &m); err != nil {
		return m, 0, fmt.Errorf("read header: %w", err)
	}
	return m, int64(len(pre)) + int64(n) + 4, nil
}

// fileReader reads records from [start, end) of a stream file through one
// buffer, so that sequential reads in either direction cost one pread per
// chunk.
type fileReader struct {
	f          *os.File
	start, end int64
	buf        []byte
	bufOff     int64
}

// window returns the file's bytes [off, off+n). On a miss it reads a chunk
// that extends forward from off (ahead) or backward from off+n.
func (r *fileReader) window(off int64, n int, ahead bool) ([]byte, error) {
	hi := off + int64(n)
	if off < r.start || hi > r.end {
		return nil, fmt.Errorf("read %d bytes at %d outside [%d, %d): %w", n, off, r.start, r.end, errCorrupt)
	}
	if off >= r.bufOff && hi <= r.bufOff+int64(len(r.buf)) {
		return r.buf[off-r.bufOff : hi-r.bufOff], nil
	}
	lo := off
	if ahead {
		hi = min(r.end, max(hi, lo+readChunk))
	} else {
		lo = max(r.start, min(lo, hi-readChunk))
	}
	size := int(hi - lo)
	if cap(r.buf) < size {
		r.buf = make([]byte, size)
	}
	r.buf = r.buf[:size]
	r.bufOff = lo
	if _, err := r.f.ReadAt(r.buf, lo); err != nil {
		r.buf = r.buf[:0]
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %d bytes at %d: %w", size, lo, errCorrupt)
		}
		return nil, fmt.Errorf("read %d bytes at %d: %w", size, lo, err)
	}
	return r.buf[off-lo : off-lo+int64(n)], nil
}

// recordAt decodes the record starting at off and returns the offset after it.
func (r *fileReader) recordAt(off int64) (record, int64, error) {
	if off+recOverh > r.end {
		return record{}, 0, fmt.Errorf("record at %d: truncated: %w", off, errCorrupt)
	}
	h, err := r.window(off, recHead, true)
	if err != nil {
		return record{}, 0, err
	}
	n := int64(binary.LittleEndian.Uint32(h))
	if n < recFixed || n > maxBodyLen || off+recHead+n+recTail > r.end {
		return record{}, 0, fmt.Errorf("record at %d: bad length %d: %w", off, n, errCorrupt)
	}
	b, err := r.window(off, int(recHead+n+recTail), true)
	if err != nil {
		return record{}, 0, err
	}
	rec, err := decodeRecord(b, off)
	return rec, off + int64(len(b)), err
}

// recordBefore decodes the record that ends at end and returns its start.
func (r *fileReader) recordBefore(end int64) (record, int64, error) {
	if end-recOverh < r.start {
		return record{}, 0, fmt.Errorf("record before %d: truncated: %w", end, errCorrupt)
	}
	t, err := r.window(end-recTail, recTail, false)
	if err != nil {
		return record{}, 0, err
	}
	n := int64(binary.LittleEndian.Uint32(t))
	start := end - recHead - n - recTail
	if n < recFixed || n > maxBodyLen || start < r.start {
		return record{}, 0, fmt.Errorf("record before %d: bad length %d: %w", end, n, errCorrupt)
	}
	b, err := r.window(start, int(end-start), false)
	if err != nil {
		return record{}, 0, err
	}
	rec, err := decodeRecord(b, start)
	return rec, start, err
}

// decodeRecord checks and decodes one whole record b found at off.
func decodeRecord(b []byte, off int64) (record, error) {
	n := binary.LittleEndian.Uint32(b)
	if int(n) != len(b)-recHead-recTail || binary.LittleEndian.Uint32(b[len(b)-recTail:]) != n {
		return record{}, fmt.Errorf("record at %d: length mismatch: %w", off, errCorrupt)
	}
	body := b[recHead : len(b)-recTail]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return record{}, fmt.Errorf("record at %d: checksum mismatch: %w", off, errCorrupt)
	}
	return record{
		ts:     int64(binary.LittleEndian.Uint64(body)),
		ingest: int64(binary.LittleEndian.Uint64(body[8:])),
		msg:    body[recFixed:],
	}, nil
}
