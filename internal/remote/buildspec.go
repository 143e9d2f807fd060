package remote

import (
	"bytes"
	"encoding/json"
	"strings"
)

// ShellQuote joins argv into one POSIX shell command line that runs exactly
// that argv: words made only of safe characters stay as they are, every
// other word is single-quoted (a ' inside becomes '\”), an empty word is ”.
func ShellQuote(argv []string) string {
	var b strings.Builder
	for i, w := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quoteWord(w))
	}
	return b.String()
}

func quoteWord(w string) string {
	if w == "" {
		return "''"
	}
	if strings.IndexFunc(w, unsafeShellRune) < 0 {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// unsafeShellRune reports whether r needs quoting anywhere in a word. '=' and
// '~' are safe only after the first character (a leading ~ expands, a
// leading NAME= would be an assignment only before the command), so both are
// quoted to stay simple.
func unsafeShellRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	switch r {
	case '_', '-', '.', '/', ',', ':', '@', '%', '+':
		return false
	}
	return true
}

// CommandBuildspec is the inline buildspec that runs one command line in
// the BUILD phase (version 0.2: one shell for the whole build).
func CommandBuildspec(argv []string) string {
	var b strings.Builder
	b.WriteString("version: 0.2\nphases:\n  build:\n    commands:\n      - ")
	b.WriteString(yamlString(ShellQuote(argv)))
	b.WriteString("\n")
	return b.String()
}

// yamlString renders s as a YAML double-quoted scalar. JSON string escapes
// are a subset of YAML's double-quoted escapes, so encoding/json does it
// (without its HTML escaping, which YAML would accept but reads badly).
func yamlString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(buf.String(), "\n")
}
