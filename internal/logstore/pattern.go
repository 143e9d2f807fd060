package logstore

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// MaxPatternLen is the longest filter pattern CloudWatch accepts.
const MaxPatternLen = 1024

// Pattern is a parsed CloudWatch Logs filter pattern for unstructured
// messages. Supported, case-sensitive as in CloudWatch:
//
//	ERROR Exception      every term must appear
//	"exit status 1"      a quoted phrase is one term (\" and \\ escape)
//	?ERROR ?WARN         at least one ?-term must appear
//	ERROR -Retrying      no -term may appear
//	%[0-9]{3} failed%    a regular expression over the whole message
//
// JSON ({ $.x = … }) and space-delimited ([a, b]) patterns are refused with
// ErrInvalid rather than silently matching the wrong events.
type Pattern struct {
	all, any, none [][]byte
	re             *regexp.Regexp
}

// ParsePattern parses a filter pattern; "" matches every message.
func ParsePattern(s string) (*Pattern, error) {
	if len(s) > MaxPatternLen {
		return nil, fmt.Errorf("filter pattern longer than %d bytes: %w", MaxPatternLen, ErrInvalid)
	}
	return parsePattern(s)
}

func parsePattern(s string) (*Pattern, error) {
	t := strings.Trim(s, patternSpace)
	p := &Pattern{}
	switch {
	case t == "":
		return p, nil
	case len(t) >= 2 && t[0] == '%' && t[len(t)-1] == '%':
		re, err := regexp.Compile(t[1 : len(t)-1])
		if err != nil {
			return nil, fmt.Errorf("filter pattern %q: %v: %w", s, err, ErrInvalid)
		}
		p.re = re
		return p, nil
	case t[0] == '{' || t[0] == '[':
		return nil, fmt.Errorf("filter pattern %q: JSON and space-delimited patterns are not supported: %w", s, ErrInvalid)
	}
	for i := 0; i < len(t); {
		if isPatternSpace(t[i]) {
			i++
			continue
		}
		list := &p.all
		// A lone ? or - is a term of its own, not a prefix.
		if (t[i] == '?' || t[i] == '-') && i+1 < len(t) && !isPatternSpace(t[i+1]) {
			if t[i] == '?' {
				list = &p.any
			} else {
				list = &p.none
			}
			i++
		}
		var term []byte
		if t[i] == '"' {
			var b strings.Builder
			j := i + 1
			for ; j < len(t) && t[j] != '"'; j++ {
				if t[j] == '\\' && j+1 < len(t) && (t[j+1] == '"' || t[j+1] == '\\') {
					j++
				}
				b.WriteByte(t[j])
			}
			if j >= len(t) {
				return nil, fmt.Errorf("filter pattern %q: unterminated quote: %w", s, ErrInvalid)
			}
			term, i = []byte(b.String()), j+1
		} else {
			j := i
			for j < len(t) && !isPatternSpace(t[j]) {
				j++
			}
			term, i = []byte(t[i:j]), j
		}
		*list = append(*list, term)
	}
	return p, nil
}

// patternSpace separates terms.
const patternSpace = " \t\n\v\f\r"

func isPatternSpace(c byte) bool { return strings.IndexByte(patternSpace, c) >= 0 }

// Match reports whether msg matches; a nil Pattern matches everything.
func (p *Pattern) Match(msg []byte) bool {
	if p == nil {
		return true
	}
	for _, t := range p.all {
		if !bytes.Contains(msg, t) {
			return false
		}
	}
	for _, t := range p.none {
		if bytes.Contains(msg, t) {
			return false
		}
	}
	if len(p.any) > 0 {
		found := false
		for _, t := range p.any {
			if bytes.Contains(msg, t) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return p.re == nil || p.re.Match(msg)
}

// String returns the pattern in a canonical form that parses back to an
// equal pattern.
func (p *Pattern) String() string {
	if p == nil {
		return ""
	}
	if p.re != nil {
		return "%" + p.re.String() + "%"
	}
	var b strings.Builder
	write := func(prefix string, terms [][]byte) {
		for _, t := range terms {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(prefix)
			b.WriteByte('"')
			for i := 0; i < len(t); i++ {
				if t[i] == '"' || t[i] == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(t[i])
			}
			b.WriteByte('"')
		}
	}
	write("", p.all)
	write("?", p.any)
	write("-", p.none)
	return b.String()
}
