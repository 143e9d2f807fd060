package awsapi

import (
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

//go:generate go run ./internal/modelgen -out models

// models holds the trimmed botocore service models written by
// internal/modelgen: input shapes of the operations Hangar serves, with
// their constraints.
//
//go:embed models/*.json
var models embed.FS

type serviceModel struct {
	Metadata struct {
		Service      string `json:"service"`
		APIVersion   string `json:"apiVersion"`
		Protocol     string `json:"protocol"`
		TargetPrefix string `json:"targetPrefix"`
		SigningName  string `json:"signingName"`
		XMLNamespace string `json:"xmlNamespace"`
	} `json:"metadata"`
	// Operations maps an operation name to its input shape ("" for none).
	Operations map[string]string `json:"operations"`
	Shapes     map[string]*shape `json:"shapes"`
}

type shape struct {
	Type           string       `json:"type"`
	Required       []string     `json:"required"`
	Members        []member     `json:"members"`
	Member         string       `json:"member"`
	MemberLocation string       `json:"memberLocationName"`
	Key            string       `json:"key"`
	Value          string       `json:"value"`
	Enum           []string     `json:"enum"`
	Min            *json.Number `json:"min"`
	Max            *json.Number `json:"max"`
	Pattern        string       `json:"pattern"`
	Sensitive      bool         `json:"sensitive"`
	Document       bool         `json:"document"`
	Flattened      bool         `json:"flattened"`

	// Derived when the model is loaded.
	re       *regexp.Regexp
	min, max *float64
	required map[string]bool
	byWire   map[string]*member
}

type member struct {
	Name         string `json:"name"`
	Shape        string `json:"shape"`
	LocationName string `json:"locationName"`
}

// wire is the member's name on the wire (JSON key or Query parameter).
func (m *member) wire() string {
	if m.LocationName != "" {
		return m.LocationName
	}
	return m.Name
}

// loadModel reads and prepares the embedded model of one service.
func loadModel(service string) (*serviceModel, error) {
	b, err := models.ReadFile("models/" + service + ".json")
	if err != nil {
		return nil, fmt.Errorf("no model for service %q: %w", service, err)
	}
	var m serviceModel
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode model %s: %w", service, err)
	}
	for name, s := range m.Shapes {
		if err := s.prepare(); err != nil {
			return nil, fmt.Errorf("model %s shape %s: %w", service, name, err)
		}
	}
	// A dangling reference would make validation panic later; refuse early.
	check := func(from, ref string) error {
		if ref == "" {
			return nil
		}
		if _, ok := m.Shapes[ref]; !ok {
			return fmt.Errorf("model %s: shape %s refers to missing shape %s", service, from, ref)
		}
		return nil
	}
	for op, in := range m.Operations {
		if err := check(op, in); err != nil {
			return nil, err
		}
	}
	for name, s := range m.Shapes {
		for _, ref := range []string{s.Member, s.Key, s.Value} {
			if err := check(name, ref); err != nil {
				return nil, err
			}
		}
		for _, mem := range s.Members {
			if err := check(name, mem.Shape); err != nil {
				return nil, err
			}
		}
	}
	return &m, nil
}

func (s *shape) prepare() error {
	if s.Pattern != "" {
		re, err := compileModelPattern(s.Pattern)
		if err != nil {
			return err
		}
		s.re = re
	}
	num := func(n *json.Number) (*float64, error) {
		if n == nil {
			return nil, nil
		}
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil {
			return nil, fmt.Errorf("bad bound %q: %w", n.String(), err)
		}
		return &f, nil
	}
	var err error
	if s.min, err = num(s.Min); err != nil {
		return err
	}
	if s.max, err = num(s.Max); err != nil {
		return err
	}
	s.required = make(map[string]bool, len(s.Required))
	for _, r := range s.Required {
		s.required[r] = true
	}
	s.byWire = make(map[string]*member, len(s.Members))
	for i := range s.Members {
		s.byWire[s.Members[i].wire()] = &s.Members[i]
	}
	return nil
}

// compileModelPattern compiles a model pattern (Java regular expression
// syntax, as AWS evaluates it) to a Go regexp that must match the whole
// value, the way Java's Matcher.matches does.
func compileModelPattern(p string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`^(?:` + javaToRE2(p) + `)$`)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", p, err)
	}
	return re, nil
}

// javaToRE2 rewrites the Java-only syntax the AWS models use: \uXXXX escapes
// (always exactly four hex digits in Java, so "\u10000" is U+1000 then "0")
// and a hyphen right after a class escape inside brackets, which Java reads
// as a literal hyphen and RE2 rejects as a bad range.
func javaToRE2(p string) string {
	var b strings.Builder
	inClass := false
	afterClassEscape := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' && i+1 < len(p) {
			n := p[i+1]
			if n == 'u' && i+6 <= len(p) && isHex4(p[i+2:i+6]) {
				b.WriteString(`\x{` + p[i+2:i+6] + `}`)
				i += 5
				afterClassEscape = false
				continue
			}
			if n == 'p' || n == 'P' {
				// \p{L} or \pL
				end := i + 2
				if end < len(p) && p[end] == '{' {
					if j := strings.IndexByte(p[end:], '}'); j >= 0 {
						end += j + 1
					}
				} else if end < len(p) {
					end++
				}
				b.WriteString(p[i:end])
				i = end - 1
				afterClassEscape = inClass
				continue
			}
			b.WriteByte(c)
			b.WriteByte(n)
			i++
			afterClassEscape = inClass && strings.IndexByte("wWdDsS", n) >= 0
			continue
		}
		switch {
		case c == '[' && !inClass:
			inClass = true
		case c == ']' && inClass:
			inClass = false
		case c == '-' && afterClassEscape && i+1 < len(p) && p[i+1] != ']':
			b.WriteString(`\-`)
			afterClassEscape = false
			continue
		}
		afterClassEscape = false
		b.WriteByte(c)
	}
	return b.String()
}

func isHex4(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
