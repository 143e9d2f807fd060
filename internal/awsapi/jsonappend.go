package awsapi

import "unicode/utf8"

// JSONAppender is a response that encodes itself. WriteJSON uses it instead
// of encoding/json for big, regular outputs — a page of up to 10,000 log
// events — where reflection costs more than the rest of the request, and
// where a json.Marshaler would not help: encoding/json re-scans whatever a
// Marshaler returns. AppendJSON must append exactly what json.Marshal would
// write for the value; tests compare the two.
type JSONAppender interface {
	AppendJSON(b []byte) []byte
}

// AppendJSONString appends s as a JSON string, byte for byte as json.Marshal
// writes it: HTML-safe (<, > and & escaped), invalid UTF-8 replaced by
// U+FFFD, U+2028 and U+2029 escaped.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe(c) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				// Other control bytes and the HTML-unsafe <, > and &.
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonSafe reports whether an ASCII byte goes into a JSON string as is.
func jsonSafe(c byte) bool {
	return c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
}
