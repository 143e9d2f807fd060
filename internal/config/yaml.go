package config

import (
	"errors"
	"math"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// node is one YAML value with where it was written. Trees are never
// modified once built, so alias targets can be shared.
type node struct {
	kind   nodeKind
	text   string     // scalar as written (unquoted); what a string key gets
	stype  scalarType // YAML type of a scalar
	num    int64      // scalarInt
	bit    bool       // scalarBool
	items  []*node    // kindSeq
	fields []field    // kindMap, in file order
	src    Source
	size   int // nodes in this subtree with aliases expanded
}

type field struct {
	key string
	val *node
	src Source // where the key is; a value's location is its key's line
}

type nodeKind uint8

const (
	kindNull nodeKind = iota
	kindScalar
	kindSeq
	kindMap
)

type scalarType uint8

const (
	scalarString scalarType = iota
	scalarInt
	scalarFloat
	scalarBool
)

func (n *node) typeName() string {
	if n == nil {
		return "nothing"
	}
	switch n.kind {
	case kindNull:
		return "null"
	case kindSeq:
		return "a list"
	case kindMap:
		return "a map"
	}
	switch n.stype {
	case scalarInt:
		return "an integer"
	case scalarFloat:
		return "a number"
	case scalarBool:
		return "a boolean"
	}
	return "a string"
}

func (n *node) get(key string) *node {
	if n == nil || n.kind != kindMap {
		return nil
	}
	for _, f := range n.fields {
		if f.key == key {
			return f.val
		}
	}
	return nil
}

const (
	maxFileBytes = 1 << 20
	// maxNodes bounds a file after alias expansion, so "billion laughs"
	// documents fail fast instead of exhausting memory.
	maxNodes = 100_000
)

// parseYAML turns one file into a tree. Syntax errors name file and line.
func parseYAML(file string, rank int, data []byte) (*node, Errors) {
	base := Source{Kind: FromFile, File: file, Line: 1, rank: rank}
	if len(data) > maxFileBytes {
		return nil, Errors{{Source: base, Msg: "file is larger than 1 MiB"}}
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		src := base
		msg := err.Error()
		var ye yaml.Error
		if errors.As(err, &ye) {
			msg = ye.GetMessage()
			if tk := ye.GetToken(); tk != nil && tk.Position != nil && tk.Position.Line > 0 {
				src.Line = tk.Position.Line
			}
		}
		return nil, Errors{{Source: src, Msg: "syntax error: " + msg}}
	}
	c := &converter{src: base, anchors: map[string]*node{}}
	var root *node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, ok := doc.Body.(*ast.CommentGroupNode); ok {
			continue
		}
		if root != nil {
			c.errs.add(c.at(doc.Body), "", "a second YAML document: hangar.yml holds one")
			break
		}
		root = c.conv(doc.Body)
	}
	if root != nil && root.size > maxNodes {
		return nil, Errors{{Source: base, Msg: "too many values (after expanding aliases)"}}
	}
	if root == nil || root.kind == kindNull {
		root = &node{kind: kindMap, src: base, size: 1}
	}
	if root.kind != kindMap && len(c.errs.list) == 0 {
		c.errs.add(root.src, "", "the file must be a map of keys (like project: demo), not %s", root.typeName())
	}
	return root, c.errs.list
}

type converter struct {
	src     Source
	anchors map[string]*node
	errs    errs
}

func (c *converter) at(n ast.Node) Source {
	s := c.src
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil && tk.Position.Line > 0 {
			s.Line = tk.Position.Line
		}
	}
	return s
}

func sum(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

func (c *converter) conv(n ast.Node) *node {
	out := &node{src: c.at(n), size: 1}
	switch n := n.(type) {
	case nil, *ast.NullNode:
		out.kind = kindNull
	case *ast.StringNode:
		out.kind, out.text = kindScalar, n.Value
	case *ast.LiteralNode:
		out.kind = kindScalar
		if n.Value != nil {
			out.text = n.Value.Value
		}
	case *ast.IntegerNode:
		out.kind, out.stype, out.text = kindScalar, scalarInt, n.Token.Value
		switch v := n.Value.(type) {
		case int64:
			out.num = v
		case uint64:
			out.num = math.MaxInt64 // beyond every range this package checks
			if v <= math.MaxInt64 {
				out.num = int64(v)
			}
		}
	case *ast.FloatNode:
		out.kind, out.stype, out.text = kindScalar, scalarFloat, n.Token.Value
	case *ast.InfinityNode:
		out.kind, out.stype, out.text = kindScalar, scalarFloat, n.Token.Value
	case *ast.NanNode:
		out.kind, out.stype, out.text = kindScalar, scalarFloat, n.Token.Value
	case *ast.BoolNode:
		out.kind, out.stype, out.text, out.bit = kindScalar, scalarBool, n.Token.Value, n.Value
	case *ast.SequenceNode:
		out.kind = kindSeq
		for _, v := range n.Values {
			item := c.conv(v)
			out.items = append(out.items, item)
			out.size = sum(out.size, item.size)
		}
	case *ast.MappingNode:
		out.kind = kindMap
		c.mapping(out, n.Values)
	case *ast.MappingValueNode:
		out.kind = kindMap
		c.mapping(out, []*ast.MappingValueNode{n})
	case *ast.AnchorNode:
		v := c.conv(n.Value)
		if n.Name != nil {
			c.anchors[n.Name.GetToken().Value] = v
		}
		return v
	case *ast.AliasNode:
		name := ""
		if n.Value != nil {
			name = n.Value.GetToken().Value
		}
		if v, ok := c.anchors[name]; ok {
			return v
		}
		c.errs.add(out.src, "", "alias *%s refers to no anchor defined before it", name)
		out.kind = kindNull
	case *ast.TagNode:
		return c.tag(n)
	case *ast.MappingKeyNode:
		return c.conv(n.Value)
	default:
		c.errs.add(out.src, "", "unsupported YAML construct %s", n.Type())
		out.kind = kindNull
	}
	return out
}

func (c *converter) tag(n *ast.TagNode) *node {
	tag := ""
	if n.Start != nil {
		tag = n.Start.Value
	}
	v := c.conv(n.Value)
	switch tag {
	case "!!str":
		if v.kind == kindScalar && v.stype != scalarString {
			s := *v
			s.stype = scalarString
			return &s
		}
		return v
	case "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!binary", "!!timestamp", "!!omap", "!!set", "!!merge":
		return v
	}
	// CloudFormation users write !Ref and !Sub; those mean nothing here.
	c.errs.add(c.at(n), "", "unsupported YAML tag %s", tag)
	return &node{kind: kindNull, src: v.src, size: 1}
}

// mapping fills out with the pairs of a YAML map, applying "<<" merge keys
// (explicit keys win over merged ones, earlier merge sources over later).
func (c *converter) mapping(out *node, pairs []*ast.MappingValueNode) {
	seen := map[string]bool{}
	var merged []field
	for _, p := range pairs {
		if p == nil {
			continue
		}
		if _, ok := p.Key.(*ast.MergeKeyNode); ok {
			v := c.conv(p.Value)
			out.size = sum(out.size, v.size)
			sources := []*node{v}
			if v.kind == kindSeq {
				sources = v.items
			}
			for _, s := range sources {
				if s.kind != kindMap {
					c.errs.add(c.at(p), "", "<< must merge a map, not %s", s.typeName())
					continue
				}
				merged = append(merged, s.fields...)
			}
			continue
		}
		k := c.conv(p.Key)
		if k.kind != kindScalar {
			c.errs.add(k.src, "", "a map key must be a plain value, not %s", k.typeName())
			continue
		}
		if seen[k.text] {
			c.errs.add(k.src, k.text, "duplicate key")
			continue
		}
		seen[k.text] = true
		v := c.conv(p.Value)
		out.size = sum(out.size, v.size)
		out.fields = append(out.fields, field{key: k.text, val: v, src: k.src})
	}
	for _, f := range merged {
		if !seen[f.key] {
			seen[f.key] = true
			out.fields = append(out.fields, f)
		}
	}
}

// keyCase reports whether s is PascalCase (CloudFormation style).
func keyCase(s string) bool { return s != "" && strings.ToUpper(s[:1]) == s[:1] && s[:1] != "_" }
