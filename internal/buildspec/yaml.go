package buildspec

import (
	"bytes"
	"errors"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Limits on the work one Parse may do. go-yaml's parser is quadratic in the
// entries of one mapping and in flow nesting, so the token stream is
// checked before it is parsed; aliases are expanded by reference and every
// node visited after that is counted. Real buildspecs are far below all of these.
const (
	MaxSize       = 128 << 10 // bytes
	maxTokens     = 20_000
	maxMapEntries = 2_000 // ':' tokens in the document
	maxFlowDepth  = 64
	maxDepth      = 100     // nesting of the decoded tree
	maxNodes      = 100_000 // nodes built or visited, aliases expanded
)

type kind int

const (
	kindNull kind = iota
	kindScalar
	kindMap
	kindSeq
)

// node is a YAML value with aliases resolved and merge keys applied. Nodes
// reached through an alias are shared, not copied, so memory stays linear
// in the input; code that walks them pays into budget.
type node struct {
	kind  kind
	line  int
	text  string // scalar text as written (after YAML unquoting/folding)
	pairs []pair // kindMap, in file order, keys unique (last value wins)
	items []*node
}

type pair struct {
	key  string
	line int
	val  *node
}

func (n *node) describe() string {
	switch n.kind {
	case kindNull:
		return "null"
	case kindMap:
		return "subkeys"
	case kindSeq:
		return "list"
	}
	return "string"
}

// budget counts nodes built or visited; shared by one Parse.
type budget struct{ left int }

func (b *budget) spend() *Error {
	b.left--
	if b.left < 0 {
		return errorf(0, "buildspec is too complex: more than %d YAML nodes after expanding aliases", maxNodes)
	}
	return nil
}

// parseYAML turns the first YAML document of data into a node tree (nil for
// an empty document).
func parseYAML(data []byte, b *budget) (root *node, err *Error) {
	// go-yaml is third-party code fed untrusted input; a panic in it must
	// become a failed build, not a dead runner.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, errorf(0, "buildspec could not be parsed: %v", r)
		}
	}()
	if len(data) > MaxSize {
		return nil, errorf(0, "buildspec is too large: %d bytes, the limit is %d", len(data), MaxSize)
	}
	// Editors on Windows save a UTF-8 byte order mark; libyaml skips it.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	tokens, lerr := firstDocument(lexer.Tokenize(string(data)))
	if lerr != nil {
		return nil, lerr
	}
	f, perr := parser.Parse(tokens, 0, parser.AllowDuplicateMapKey())
	if perr != nil {
		return nil, syntaxError(perr)
	}
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			return nil, nil
		}
		if _, ok := doc.Body.(*ast.DirectiveNode); ok {
			continue // go-yaml returns %YAML / %TAG lines as documents of their own
		}
		c := converter{anchors: map[string]*node{}, budget: b}
		return c.convert(doc.Body, 0)
	}
	return nil, nil
}

// firstDocument checks the token limits and cuts the stream after the first
// document: like CodeBuild's agent (yaml.v2 Unmarshal), Hangar reads only
// the first one, and later ones must not cost parse time.
func firstDocument(tokens token.Tokens) (token.Tokens, *Error) {
	content := false
	directiveLine := -1 // a directive's parameters follow it on its line
	depth, entries := 0, 0
	for i, tk := range tokens {
		switch {
		case tk.Type == token.InvalidType:
			return nil, errorf(tokenLine(tk), "%s", syntaxMessage(tk.Error))
		case tk.Type == token.DocumentHeaderType:
			if content {
				return tokens[:i], nil
			}
			content = true
			continue
		case tk.Type == token.DocumentEndType:
			return tokens[:i], nil
		case tk.Type == token.DirectiveType:
			directiveLine = tokenLine(tk)
		case tk.Type == token.CommentType, !content && tokenLine(tk) == directiveLine:
		default:
			content = true
		}
		if i >= maxTokens {
			return nil, errorf(0, "buildspec is too complex: more than %d YAML tokens", maxTokens)
		}
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			depth++
			if depth > maxFlowDepth {
				return nil, errorf(tokenLine(tk), "buildspec is too complex: flow collections nested deeper than %d", maxFlowDepth)
			}
		case token.SequenceEndType, token.MappingEndType:
			depth--
		case token.MappingValueType:
			entries++
			if entries > maxMapEntries {
				return nil, errorf(tokenLine(tk), "buildspec is too complex: more than %d mapping entries", maxMapEntries)
			}
		}
	}
	return tokens, nil
}

func tokenLine(tk *token.Token) int {
	if tk == nil || tk.Position == nil {
		return 0
	}
	return tk.Position.Line
}

func syntaxError(err error) *Error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		return errorf(tokenLine(ye.GetToken()), "%s", syntaxMessage(ye.GetMessage()))
	}
	return errorf(0, "%s", err.Error())
}

type converter struct {
	anchors map[string]*node
	budget  *budget
}

func (c *converter) convert(n ast.Node, depth int) (*node, *Error) {
	line := 0
	if n != nil {
		line = tokenLine(n.GetToken())
	}
	if depth > maxDepth {
		return nil, errorf(line, "buildspec is too complex: nested deeper than %d levels", maxDepth)
	}
	if err := c.budget.spend(); err != nil {
		return nil, err
	}
	switch v := n.(type) {
	case nil:
		return &node{kind: kindNull}, nil
	case *ast.NullNode:
		return &node{kind: kindNull, line: line}, nil
	case *ast.StringNode:
		return &node{kind: kindScalar, line: line, text: v.Value}, nil
	case *ast.LiteralNode:
		text := ""
		if v.Value != nil {
			text = v.Value.Value
		}
		return &node{kind: kindScalar, line: line, text: text}, nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		// The text as written, the way yaml.v2 fills a string from any scalar.
		return &node{kind: kindScalar, line: line, text: n.GetToken().Value}, nil
	case *ast.TagNode:
		// Tags do not change what a buildspec means; use the tagged value.
		return c.convert(v.Value, depth+1)
	case *ast.AnchorNode:
		val, err := c.convert(v.Value, depth+1)
		if err != nil {
			return nil, err
		}
		if name := scalarText(v.Name); name != "" {
			c.anchors[name] = val // after the value: an alias inside it cannot see it
		}
		return val, nil
	case *ast.AliasNode:
		name := scalarText(v.Value)
		val, ok := c.anchors[name]
		if !ok {
			return nil, errorf(line, "unknown anchor '%s' referenced", name)
		}
		return val, nil
	case *ast.SequenceNode:
		out := &node{kind: kindSeq, line: line, items: make([]*node, 0, len(v.Values))}
		for _, item := range v.Values {
			cn, err := c.convert(item, depth+1)
			if err != nil {
				return nil, err
			}
			out.items = append(out.items, cn)
		}
		return out, nil
	case *ast.MappingNode:
		return c.mapping(v.Values, line, depth)
	case *ast.MappingValueNode:
		return c.mapping([]*ast.MappingValueNode{v}, line, depth)
	case *ast.CommentGroupNode, *ast.CommentNode:
		return &node{kind: kindNull, line: line}, nil
	}
	return nil, errorf(line, "unexpected YAML node %s", n.Type())
}

func (c *converter) mapping(values []*ast.MappingValueNode, line, depth int) (*node, *Error) {
	out := &node{kind: kindMap, line: line}
	index := map[string]int{}
	var merged []pair // from << keys; explicit keys win over them
	for _, mv := range values {
		if mv == nil {
			continue
		}
		key := ast.Node(mv.Key)
		if mk, ok := key.(*ast.MappingKeyNode); ok {
			key = mk.Value
		}
		val, err := c.convert(mv.Value, depth+1)
		if err != nil {
			return nil, err
		}
		if _, ok := key.(*ast.MergeKeyNode); ok {
			ps, err := c.mergePairs(val, tokenLine(mv.GetToken()))
			if err != nil {
				return nil, err
			}
			merged = append(merged, ps...)
			continue
		}
		kn, err := c.convert(key, depth+1)
		if err != nil {
			return nil, err
		}
		if kn.kind == kindMap || kn.kind == kindSeq {
			return nil, typeMismatch("map key", "string", kn)
		}
		p := pair{key: kn.text, line: kn.line, val: val}
		if i, dup := index[p.key]; dup {
			out.pairs[i].val = val // yaml.v2 semantics: the last one wins
			continue
		}
		index[p.key] = len(out.pairs)
		out.pairs = append(out.pairs, p)
	}
	for _, p := range merged {
		if _, ok := index[p.key]; ok {
			continue
		}
		if err := c.budget.spend(); err != nil {
			return nil, err
		}
		index[p.key] = len(out.pairs)
		out.pairs = append(out.pairs, p)
	}
	return out, nil
}

// mergePairs returns the pairs a << key brings in: a map, or a list of maps
// where earlier maps win.
func (c *converter) mergePairs(val *node, line int) ([]pair, *Error) {
	switch val.kind {
	case kindMap:
		return val.pairs, nil
	case kindSeq:
		var out []pair
		seen := map[string]bool{}
		for _, item := range val.items {
			if item.kind != kindMap {
				return nil, errorf(line, "map merge requires map or sequence of maps as the value")
			}
			for _, p := range item.pairs {
				if err := c.budget.spend(); err != nil {
					return nil, err
				}
				if !seen[p.key] {
					seen[p.key] = true
					out = append(out, p)
				}
			}
		}
		return out, nil
	}
	return nil, errorf(line, "map merge requires map or sequence of maps as the value")
}

func scalarText(n ast.Node) string {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value
	case nil:
		return ""
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// plain converts a node into plain Go data for sections Hangar keeps raw.
func plain(n *node, b *budget, depth int) (any, *Error) {
	if depth > maxDepth {
		return nil, errorf(n.line, "buildspec is too complex: nested deeper than %d levels", maxDepth)
	}
	if err := b.spend(); err != nil {
		return nil, err
	}
	switch n.kind {
	case kindScalar:
		return n.text, nil
	case kindSeq:
		out := make([]any, 0, len(n.items))
		for _, it := range n.items {
			v, err := plain(it, b, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case kindMap:
		out := make(map[string]any, len(n.pairs))
		for _, p := range n.pairs {
			v, err := plain(p.val, b, depth+1)
			if err != nil {
				return nil, err
			}
			out[p.key] = v
		}
		return out, nil
	}
	return nil, nil
}
