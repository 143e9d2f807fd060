package logstore

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
)

// MaskText replaces every secret occurrence in stored messages, as in
// CodeBuild's logs.
const MaskText = "***"

// MinSecretLen is the shortest secret (or line of a multi-line secret) a
// Masker masks. CodeBuild masks values mechanically wherever they occur;
// for one- to three-byte values ("1", "on", "dev") that wrecks unrelated
// output, and a value that short is no secret anyway: the *** left in
// familiar text would give it away. Four also makes masking never lengthen
// a message (4+ bytes become 3), which the line writer relies on.
const MinSecretLen = 4

// Masker replaces secret values in log lines with MaskText. It is immutable
// and safe for concurrent use; a nil *Masker masks nothing.
type Masker struct {
	secrets [][]byte // unique, longest first
	maxLen  int
}

// NewMasker returns a Masker for the values. A multi-line value is masked
// line by line (a log event is one line); values or lines shorter than
// MinSecretLen or all white space are not masked.
func NewMasker(values ...string) *Masker {
	m := &Masker{}
	seen := make(map[string]bool)
	for _, v := range values {
		for line := range strings.SplitSeq(v, "\n") {
			line = strings.TrimSuffix(line, "\r")
			if len(line) < MinSecretLen || strings.TrimSpace(line) == "" || seen[line] {
				continue
			}
			seen[line] = true
			m.secrets = append(m.secrets, []byte(line))
			m.maxLen = max(m.maxLen, len(line))
		}
	}
	slices.SortFunc(m.secrets, func(a, b []byte) int { return cmp.Compare(len(b), len(a)) })
	return m
}

// MaxLen returns the length of the longest secret (0 if none).
func (m *Masker) MaxLen() int {
	if m == nil {
		return 0
	}
	return m.maxLen
}

// span is a half-open byte range [start, end).
type span struct{ start, end int }

// spans appends to dst the ranges of b covered by any occurrence of any
// secret, merged and sorted. Masking the union, rather than replacing
// secrets one after another, leaves nothing of overlapping or nested
// secrets in view (replacing "abcdef" first would leave "ab" of "abcdefgh"
// when "cdefgh" is a secret too).
func (m *Masker) spans(dst []span, b []byte) []span {
	if m == nil {
		return dst
	}
	start := len(dst)
	for _, s := range m.secrets {
		for off := 0; off+len(s) <= len(b); {
			i := bytes.Index(b[off:], s)
			if i < 0 {
				break
			}
			dst = append(dst, span{off + i, off + i + len(s)})
			off += i + 1
		}
	}
	found := dst[start:]
	if len(found) < 2 {
		return dst
	}
	slices.SortFunc(found, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	merged := found[:1]
	for _, sp := range found[1:] {
		last := &merged[len(merged)-1]
		if sp.start < last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		merged = append(merged, sp)
	}
	return dst[:start+len(merged)]
}

// Mask returns b with secrets masked: b itself when there is none.
func (m *Masker) Mask(b []byte) []byte {
	sp := m.spans(nil, b)
	if len(sp) == 0 {
		return b
	}
	return appendMasked(make([]byte, 0, len(b)), b, 0, len(b), sp)
}

// MaskString is Mask for a string.
func (m *Masker) MaskString(s string) string {
	b := []byte(s)
	if sp := m.spans(nil, b); len(sp) > 0 {
		return string(appendMasked(make([]byte, 0, len(b)), b, 0, len(b), sp))
	}
	return s
}

// appendMasked appends b[lo:hi] to dst with the spans (sorted, merged)
// clipped to [lo, hi) replaced by MaskText. Clipping masks both halves of a
// secret that a forced split of a long line cut in two.
func appendMasked(dst, b []byte, lo, hi int, sp []span) []byte {
	prev := lo
	for _, s := range sp {
		if s.end <= lo {
			continue
		}
		if s.start >= hi {
			break
		}
		start, end := max(s.start, lo), min(s.end, hi)
		dst = append(dst, b[prev:start]...)
		dst = append(dst, MaskText...)
		prev = end
	}
	return append(dst, b[prev:hi]...)
}
