package pack

import (
	"bytes"
	"strings"
)

// This file implements .gitignore syntax (also used by .hangarignore). It is a
// small port of git's own rules (dir.c, wildmatch.c) rather than go-git's
// matcher: go-git v5 matches with filepath.Match, expands "**" greedily
// without backtracking ("**/a/b" misses "x/a/c/a/b"), lets "!dir" re-include
// files below dir, and keeps the "\r" of CRLF files. git itself is the test
// oracle (TestIgnoreMatchesGit).

// pattern is one line of an ignore file.
type pattern struct {
	glob     string // without "!", the anchoring "/" and the trailing "/"
	negate   bool   // "!pattern": re-include
	dirOnly  bool   // "pattern/": directories only
	basename bool   // no "/" in the pattern: matches the last path component at any depth
	literal  bool   // no glob metacharacter: a string compare is enough
}

// ignoreFile holds the patterns of one ignore file. They apply to paths below
// base, which is the match path of the file's directory ("" or "dir/sub/").
type ignoreFile struct {
	base     string
	patterns []pattern
}

// parseIgnore parses ignore-file content the way git does: a UTF-8 BOM is
// skipped, CR before LF is dropped, "#" starts a comment, unescaped trailing
// spaces are trimmed, "\" escapes the next character ("\#", "\!", "\ ").
func parseIgnore(data []byte, base string) *ignoreFile {
	f := &ignoreFile{base: base}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if p, ok := parsePattern(trimTrailingSpaces(string(line))); ok {
			f.patterns = append(f.patterns, p)
		}
	}
	return f
}

// trimTrailingSpaces drops trailing spaces that are not escaped by a backslash
// (git's trim_trailing_spaces; tabs are kept, as git keeps them).
func trimTrailingSpaces(s string) string {
	lastSpace := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ':
			if lastSpace < 0 {
				lastSpace = i
			}
		case '\\':
			i++
			if i >= len(s) {
				return s
			}
			lastSpace = -1
		default:
			lastSpace = -1
		}
	}
	if lastSpace >= 0 {
		return s[:lastSpace]
	}
	return s
}

func parsePattern(s string) (pattern, bool) {
	var p pattern
	if strings.HasPrefix(s, "!") {
		p.negate = true
		s = s[1:]
	}
	if strings.HasSuffix(s, "/") {
		p.dirOnly = true
		s = s[:len(s)-1]
	}
	p.basename = !strings.Contains(s, "/")
	s = strings.TrimPrefix(s, "/")
	if s == "" {
		return p, false
	}
	p.glob = s
	p.literal = !strings.ContainsAny(s, `*?[\`)
	return p, true
}

// match reports whether a pattern of f decides path (a match path, "/"
// separated; name is its last component), and if so whether it excludes it.
// The last matching pattern in the file wins, as in git.
func (f *ignoreFile) match(path, name string, isDir bool) (decided, excluded bool) {
	if !strings.HasPrefix(path, f.base) {
		return false, false
	}
	rel := path[len(f.base):]
	for i := len(f.patterns) - 1; i >= 0; i-- {
		p := &f.patterns[i]
		if p.dirOnly && !isDir {
			continue
		}
		subject := rel
		if p.basename {
			subject = name
		}
		var ok bool
		if p.literal {
			ok = p.glob == subject
		} else {
			ok = wildmatch(p.glob, subject)
		}
		if ok {
			return true, !p.negate
		}
	}
	return false, false
}

// ignoreRules is the set of ignore files that apply in one directory:
// .gitignore files (and .git/info/exclude) from the outermost in, then
// .hangarignore files from the outermost in. A later file beats an earlier
// one, so every .hangarignore beats every .gitignore and can re-include with
// "!"; a deeper file beats a shallower one, as in git.
type ignoreRules struct {
	git  []*ignoreFile
	hang []*ignoreFile
}

func (r ignoreRules) excluded(path, name string, isDir bool) bool {
	for i := len(r.hang) - 1; i >= 0; i-- {
		if ok, ex := r.hang[i].match(path, name, isDir); ok {
			return ex
		}
	}
	for i := len(r.git) - 1; i >= 0; i-- {
		if ok, ex := r.git[i].match(path, name, isDir); ok {
			return ex
		}
	}
	return false
}

// withGit and withHang return rules with one more file; the full slice
// expression makes append copy, so sibling directories never share a tail.
func (r ignoreRules) withGit(f *ignoreFile) ignoreRules {
	r.git = append(r.git[:len(r.git):len(r.git)], f)
	return r
}

func (r ignoreRules) withHang(f *ignoreFile) ignoreRules {
	r.hang = append(r.hang[:len(r.hang):len(r.hang)], f)
	return r
}

// wildmatch results, as in git's wildmatch.h. The two abort codes let a "*"
// stop trying further text positions once the rest cannot match, which keeps
// patterns like "*a*a*a*b" from going exponential.
const (
	wmMatch = iota
	wmNoMatch
	wmAbortAll
	wmAbortToStarStar
)

// wildmatch reports whether text matches the glob p with git's WM_PATHNAME
// semantics: "*", "?" and "[...]" never match "/", "**" between slashes
// (or at either end) matches any number of directories, "\" escapes.
func wildmatch(p, text string) bool {
	return dowild(p, text) == wmMatch
}

func dowild(p, text string) int {
	pi, ti := 0, 0
	for ; pi < len(p); pi, ti = pi+1, ti+1 {
		pc := p[pi]
		if ti >= len(text) && pc != '*' {
			return wmAbortAll
		}
		var tc byte
		if ti < len(text) {
			tc = text[ti]
		}
		switch pc {
		case '\\':
			pi++
			if pi >= len(p) || tc != p[pi] {
				return wmNoMatch
			}
		case '?':
			if tc == '/' {
				return wmNoMatch
			}
		case '*':
			pi++
			matchSlash := false
			if pi < len(p) && p[pi] == '*' {
				prev := pi - 2 // the byte before the first '*'
				for pi < len(p) && p[pi] == '*' {
					pi++
				}
				if (prev < 0 || p[prev] == '/') &&
					(pi == len(p) || p[pi] == '/' || (p[pi] == '\\' && pi+1 < len(p) && p[pi+1] == '/')) {
					// "**/" may match no directory at all: try the rest
					// of the pattern right here first.
					if pi < len(p) && p[pi] == '/' && dowild(p[pi+1:], text[ti:]) == wmMatch {
						return wmMatch
					}
					matchSlash = true
				}
			}
			if pi == len(p) {
				if !matchSlash && strings.IndexByte(text[ti:], '/') >= 0 {
					return wmAbortToStarStar
				}
				return wmMatch
			}
			if !matchSlash && p[pi] == '/' {
				// "*/": the star takes the rest of this component.
				slash := strings.IndexByte(text[ti:], '/')
				if slash < 0 {
					return wmAbortAll
				}
				ti += slash
				continue // the loop step consumes the '/' on both sides
			}
			for ti < len(text) {
				tc = text[ti]
				if !isGlobSpecial(p[pi]) {
					// Skip ahead to the next occurrence of the literal
					// that follows the star.
					lit := p[pi]
					for ti < len(text) {
						tc = text[ti]
						if tc == lit || (!matchSlash && tc == '/') {
							break
						}
						ti++
					}
					if ti >= len(text) || tc != lit {
						if matchSlash {
							return wmAbortAll
						}
						return wmAbortToStarStar
					}
				}
				m := dowild(p[pi:], text[ti:])
				if m != wmNoMatch {
					if !matchSlash || m != wmAbortToStarStar {
						return m
					}
				} else if !matchSlash && tc == '/' {
					return wmAbortToStarStar
				}
				ti++
			}
			return wmAbortAll
		case '[':
			m, next, code := matchClass(p, pi, tc)
			if code != wmMatch {
				return code
			}
			if !m || tc == '/' {
				return wmNoMatch
			}
			pi = next
		default:
			if tc != pc {
				return wmNoMatch
			}
		}
	}
	if ti < len(text) {
		return wmNoMatch
	}
	return wmMatch
}

// matchClass matches tc against the bracket expression starting at p[pi]
// ('['). It returns whether tc is in the set, the index of the closing ']',
// and wmMatch, or wmAbortAll for a malformed expression.
func matchClass(p string, pi int, tc byte) (matched bool, end int, code int) {
	pi++
	if pi >= len(p) {
		return false, 0, wmAbortAll
	}
	pc := p[pi]
	if pc == '^' {
		pc = '!'
	}
	negated := pc == '!'
	if negated {
		pi++
		if pi >= len(p) {
			return false, 0, wmAbortAll
		}
		pc = p[pi]
	}
	var prev byte
	for {
		switch {
		case pc == '\\':
			pi++
			if pi >= len(p) {
				return false, 0, wmAbortAll
			}
			pc = p[pi]
			if tc == pc {
				matched = true
			}
		case pc == '-' && prev != 0 && pi+1 < len(p) && p[pi+1] != ']':
			pi++
			pc = p[pi]
			if pc == '\\' {
				pi++
				if pi >= len(p) {
					return false, 0, wmAbortAll
				}
				pc = p[pi]
			}
			if tc <= pc && tc >= prev {
				matched = true
			}
			pc = 0 // a range cannot start another range
		case pc == '[' && pi+1 < len(p) && p[pi+1] == ':':
			start := pi + 2
			j := start
			for j < len(p) && p[j] != ']' {
				j++
			}
			if j >= len(p) {
				return false, 0, wmAbortAll
			}
			if j-start-1 < 0 || p[j-1] != ':' {
				// Not "[:name:]": a literal '['.
				pc = '['
				if tc == pc {
					matched = true
				}
				break
			}
			in, ok := inPOSIXClass(p[start:j-1], tc)
			if !ok {
				return false, 0, wmAbortAll
			}
			if in {
				matched = true
			}
			pi = j
			pc = 0
		default:
			if tc == pc {
				matched = true
			}
		}
		prev = pc
		pi++
		if pi >= len(p) {
			return false, 0, wmAbortAll
		}
		pc = p[pi]
		if pc == ']' {
			break
		}
	}
	return matched != negated, pi, wmMatch
}

func isGlobSpecial(c byte) bool {
	return c == '*' || c == '?' || c == '[' || c == '\\'
}

// inPOSIXClass reports whether c is in the class [:name:] (ASCII only, as in
// git); ok is false for an unknown name.
func inPOSIXClass(name string, c byte) (in, ok bool) {
	lower := 'a' <= c && c <= 'z'
	upper := 'A' <= c && c <= 'Z'
	digit := '0' <= c && c <= '9'
	switch name {
	case "alnum":
		return lower || upper || digit, true
	case "alpha":
		return lower || upper, true
	case "blank":
		return c == ' ' || c == '\t', true
	case "cntrl":
		return c < 0x20 || c == 0x7f, true
	case "digit":
		return digit, true
	case "graph":
		return c > ' ' && c < 0x7f, true
	case "lower":
		return lower, true
	case "print":
		return c >= ' ' && c < 0x7f, true
	case "punct":
		return c > ' ' && c < 0x7f && !lower && !upper && !digit, true
	case "space":
		return c == ' ' || ('\t' <= c && c <= '\r'), true
	case "upper":
		return upper, true
	case "xdigit":
		return digit || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F'), true
	}
	return false, false
}
