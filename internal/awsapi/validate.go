package awsapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Validator checks request input against a service's model before handlers
// see it, with the error codes and messages AWS's own request validation
// uses:
//
//   - a member the model does not know, or a JSON value of the wrong type,
//     is a SerializationException (JSON protocols);
//   - constraint violations (required, length, range, pattern, enum) are the
//     service's validation exception, e.g. "1 validation error detected:
//     Value 'a$' at 'name' failed to satisfy constraint: Member must satisfy
//     regular expression pattern: [A-Za-z0-9][A-Za-z0-9\-_]{1,149}".
//
// A Validator is immutable and safe for concurrent use.
type Validator struct {
	model *serviceModel
	code  string
}

// NewValidator returns the validator of a service: "codebuild", "logs",
// "ssm", "secretsmanager", "iam" or "sts".
func NewValidator(service string) (*Validator, error) {
	m, err := loadModel(service)
	if err != nil {
		return nil, fmt.Errorf("new validator: %w", err)
	}
	return &Validator{model: m, code: validationCode(service)}, nil
}

// validationCode is the exception a service sends for model constraint
// failures. CodeBuild models none but sends InvalidInputException; Logs sends
// InvalidParameterException; SSM and Secrets Manager send
// ValidationException; the Query services IAM and STS send ValidationError.
func validationCode(service string) string {
	switch service {
	case "codebuild":
		return "InvalidInputException"
	case "logs":
		return "InvalidParameterException"
	case "iam", "sts":
		return "ValidationError"
	default:
		return "ValidationException"
	}
}

// Service returns the service name the validator was made for.
func (v *Validator) Service() string { return v.model.Metadata.Service }

// ExceptionCode returns the error code used for constraint violations.
func (v *Validator) ExceptionCode() string { return v.code }

// HasOperation reports whether the model knows op.
func (v *Validator) HasOperation(op string) bool {
	_, ok := v.model.Operations[op]
	return ok
}

// Validate checks a JSON request body of operation op. It has the signature
// of JSONService.Validate. Operations the model does not know pass.
func (v *Validator) Validate(op string, body []byte) *Error {
	in, ok := v.model.Operations[op]
	if !ok {
		return nil
	}
	root, err := parseJSONTree(body)
	if err != nil {
		return Errorf("SerializationException", "%s", err.Error())
	}
	if in == "" {
		return nil
	}
	if root.kind == jNull { // a "null" body is an empty input
		root = &jnode{kind: jObject}
	}
	c := checker{m: v.model}
	if e := c.check(root, v.model.Shapes[in], ""); e != nil {
		return e
	}
	return c.result(v.code)
}

// ValidateForm checks the parameters of a Query protocol request (IAM,
// STS) of operation op. Parameters the model does not know are ignored, as
// the Query services do.
func (v *Validator) ValidateForm(op string, form url.Values) *Error {
	in, ok := v.model.Operations[op]
	if !ok || in == "" {
		return nil
	}
	fr := formReader{formDecoder: formDecoder{form: form, keys: sortedKeys(form)}, m: v.model, code: v.code}
	root, e := fr.structure(v.model.Shapes[in], "", "")
	if e != nil {
		return e
	}
	c := checker{m: v.model}
	if e := c.check(root, v.model.Shapes[in], ""); e != nil {
		return e
	}
	return c.result(v.code)
}

// jnode is a parsed JSON value that keeps object key order, so the first
// unknown member reported is the first one in the request.
type jnode struct {
	kind  jkind
	s     string // string value, number text, "true"/"false"
	keys  []string
	vals  []*jnode
	elems []*jnode
	// idx are the list indexes the client used (Query "Tags.member.3");
	// nil means 1, 2, 3...
	idx []int
}

type jkind uint8

const (
	jNull jkind = iota
	jString
	jNumber
	jBool
	jObject
	jArray
)

// get returns the value of key, the last one when repeated (as
// encoding/json decodes it), or nil.
func (n *jnode) get(key string) *jnode {
	for i := len(n.keys) - 1; i >= 0; i-- {
		if n.keys[i] == key {
			return n.vals[i]
		}
	}
	return nil
}

// parseJSONTree parses body; an empty body is an empty object, as AWS JSON
// services accept it.
func parseJSONTree(body []byte) (*jnode, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return &jnode{kind: jObject}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	n, err := parseJSONValue(dec, 0)
	if err != nil {
		return nil, jsonSyntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("Unexpected content after the request body")
	}
	return n, nil
}

func jsonSyntaxError(err error) error {
	if errors.Is(err, errTooDeep) {
		return err
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("Malformed JSON at offset %d: %v", se.Offset, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("Malformed JSON: unexpected end of the request body")
	}
	return fmt.Errorf("Malformed JSON: %v", err)
}

// maxJSONDepth bounds nesting: no input shape comes close, and unbounded
// recursion on "[[[[…" would cost time and stack.
const maxJSONDepth = 100

var errTooDeep = fmt.Errorf("JSON nesting is deeper than %d levels", maxJSONDepth)

func parseJSONValue(dec *json.Decoder, depth int) (*jnode, error) {
	if depth > maxJSONDepth {
		return nil, errTooDeep
	}
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case nil:
		return &jnode{kind: jNull}, nil
	case string:
		return &jnode{kind: jString, s: t}, nil
	case json.Number:
		return &jnode{kind: jNumber, s: t.String()}, nil
	case bool:
		return &jnode{kind: jBool, s: strconv.FormatBool(t)}, nil
	case json.Delim:
		switch t {
		case '{':
			n := &jnode{kind: jObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is not a string")
				}
				v, err := parseJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, v)
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return n, nil
		case '[':
			n := &jnode{kind: jArray}
			for dec.More() {
				v, err := parseJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return n, nil
		}
	}
	return nil, fmt.Errorf("unexpected token %v", t)
}

// checker walks a request value against a shape. Serialization errors stop
// the walk (the request cannot be read); constraint violations are collected
// so all of them are reported, as AWS does.
type checker struct {
	m    *serviceModel
	errs []string
}

func (c *checker) result(code string) *Error {
	switch len(c.errs) {
	case 0:
		return nil
	case 1:
		return Errorf(code, "1 validation error detected: %s", c.errs[0])
	default:
		return Errorf(code, "%d validation errors detected: %s", len(c.errs), strings.Join(c.errs, "; "))
	}
}

// memberPath is the path AWS names a member by: the member name with its
// first letter lower-cased ("KMSKeyId" becomes "kMSKeyId"), joined by dots.
func memberPath(parent, name string) string {
	r, size := utf8.DecodeRuneInString(name)
	name = string(unicode.ToLower(r)) + name[size:]
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func at(path string) string {
	if path == "" {
		return ""
	}
	return " at '" + path + "'"
}

func (c *checker) check(n *jnode, s *shape, path string) *Error {
	if n == nil || n.kind == jNull {
		return nil
	}
	switch s.Type {
	case "structure":
		if s.Document {
			return nil
		}
		if n.kind != jObject {
			return mismatch(n, "Structure", path)
		}
		for _, k := range n.keys {
			if _, ok := s.byWire[k]; !ok {
				if path == "" {
					return Errorf("SerializationException", "Unrecognized field %q", k)
				}
				return Errorf("SerializationException", "Unrecognized field %q in '%s'", k, path)
			}
		}
		for i := range s.Members {
			m := &s.Members[i]
			p := memberPath(path, m.Name)
			v := n.get(m.wire())
			if v == nil || v.kind == jNull {
				if s.required[m.Name] {
					c.errs = append(c.errs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", p))
				}
				continue
			}
			if e := c.check(v, c.m.Shapes[m.Shape], p); e != nil {
				return e
			}
		}
	case "list":
		if n.kind != jArray {
			return mismatch(n, "List", path)
		}
		c.length(n, s, path, len(n.elems))
		elem := c.m.Shapes[s.Member]
		for i, e := range n.elems {
			ix := i + 1
			if n.idx != nil {
				ix = n.idx[i]
			}
			p := path + "." + strconv.Itoa(ix) + ".member"
			if e.kind == jNull {
				c.errs = append(c.errs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", p))
				continue
			}
			if err := c.check(e, elem, p); err != nil {
				return err
			}
		}
	case "map":
		if n.kind != jObject {
			return mismatch(n, "Map", path)
		}
		c.length(n, s, path, len(n.keys))
		return c.mapEntries(n, s, path)
	case "string":
		if n.kind != jString {
			return mismatch(n, "String", path)
		}
		c.str(n, s, path)
	case "blob":
		if n.kind != jString {
			return mismatch(n, "Blob", path)
		}
		b, err := base64.StdEncoding.DecodeString(n.s)
		if err != nil {
			return Errorf("SerializationException", "Invalid base64 value%s", at(path))
		}
		c.length(n, s, path, len(b))
	case "boolean":
		if n.kind != jBool {
			return mismatch(n, "Boolean", path)
		}
	case "integer", "long":
		if n.kind != jNumber {
			return mismatch(n, typeName(s.Type), path)
		}
		bits := 32
		if s.Type == "long" {
			bits = 64
		}
		if _, err := strconv.ParseInt(n.s, 10, bits); err != nil {
			return Errorf("SerializationException", "NUMBER_VALUE %s can not be converted to %s%s", n.s, article(typeName(s.Type)), at(path))
		}
		c.rangeCheck(n, s, path)
	case "float", "double":
		if n.kind != jNumber {
			return mismatch(n, typeName(s.Type), path)
		}
		c.rangeCheck(n, s, path)
	case "timestamp":
		// JSON protocols send timestamps as epoch seconds.
		if n.kind != jNumber {
			return mismatch(n, "Timestamp", path)
		}
	}
	return nil
}

// mapEntries checks map keys and values. AWS reports a map's failures once,
// at the map, listing the constraints its keys or values must satisfy.
func (c *checker) mapEntries(n *jnode, s *shape, path string) *Error {
	ks, vs := c.m.Shapes[s.Key], c.m.Shapes[s.Value]
	keyBad, valBad := false, false
	for i, k := range n.keys {
		probe := checker{m: c.m}
		probe.str(&jnode{kind: jString, s: k}, ks, path)
		keyBad = keyBad || len(probe.errs) > 0
		v := n.vals[i]
		if v.kind == jNull {
			continue
		}
		switch vs.Type {
		case "string", "integer", "long", "float", "double", "blob", "boolean", "timestamp":
			probe := checker{m: c.m}
			if e := probe.check(v, vs, path); e != nil {
				return e
			}
			valBad = valBad || len(probe.errs) > 0
		default:
			if e := c.check(v, vs, path+"."+k); e != nil {
				return e
			}
		}
	}
	if keyBad {
		c.fail(n, s, path, "Map keys must satisfy constraint: ["+strings.Join(constraints(ks), ", ")+"]")
	}
	if valBad {
		c.fail(n, s, path, "Map value must satisfy constraint: ["+strings.Join(constraints(vs), ", ")+"]")
	}
	return nil
}

// constraints lists a scalar shape's constraints in AWS's words.
func constraints(s *shape) []string {
	var out []string
	word := "length"
	if s.Type != "string" && s.Type != "blob" {
		word = "value"
	}
	if s.Max != nil {
		out = append(out, fmt.Sprintf("Member must have %s less than or equal to %s", word, s.Max))
	}
	if s.Min != nil {
		out = append(out, fmt.Sprintf("Member must have %s greater than or equal to %s", word, s.Min))
	}
	if s.Pattern != "" {
		out = append(out, "Member must satisfy regular expression pattern: "+s.Pattern)
	}
	if len(s.Enum) > 0 {
		out = append(out, "Member must satisfy enum value set: ["+strings.Join(s.Enum, ", ")+"]")
	}
	return out
}

func (c *checker) str(n *jnode, s *shape, path string) {
	if s.re != nil && !s.re.MatchString(n.s) {
		c.fail(n, s, path, "Member must satisfy regular expression pattern: "+s.Pattern)
	}
	// Smithy counts string length in Unicode code points.
	c.length(n, s, path, utf8.RuneCountInString(n.s))
	if len(s.Enum) > 0 {
		found := false
		for _, e := range s.Enum {
			if e == n.s {
				found = true
				break
			}
		}
		if !found {
			c.fail(n, s, path, "Member must satisfy enum value set: ["+strings.Join(s.Enum, ", ")+"]")
		}
	}
}

func (c *checker) length(n *jnode, s *shape, path string, l int) {
	if s.min != nil && float64(l) < *s.min {
		c.fail(n, s, path, "Member must have length greater than or equal to "+s.Min.String())
	}
	if s.max != nil && float64(l) > *s.max {
		c.fail(n, s, path, "Member must have length less than or equal to "+s.Max.String())
	}
}

func (c *checker) rangeCheck(n *jnode, s *shape, path string) {
	f, err := strconv.ParseFloat(n.s, 64)
	if err != nil || math.IsNaN(f) {
		return
	}
	if s.min != nil && f < *s.min {
		c.fail(n, s, path, "Member must have value greater than or equal to "+s.Min.String())
	}
	if s.max != nil && f > *s.max {
		c.fail(n, s, path, "Member must have value less than or equal to "+s.Max.String())
	}
}

// fail records one violation. Sensitive values are left out of the message,
// as AWS does ("Value at 'password' failed ...").
func (c *checker) fail(n *jnode, s *shape, path, constraint string) {
	if s.Sensitive {
		c.errs = append(c.errs, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", path, constraint))
		return
	}
	c.errs = append(c.errs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", render(n), path, constraint))
}

// render prints a value the way AWS's (Java) messages do: lists as
// [a, b], maps as {k=v}.
func render(n *jnode) string {
	switch n.kind {
	case jNull:
		return "null"
	case jArray:
		parts := make([]string, len(n.elems))
		for i, e := range n.elems {
			parts[i] = render(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case jObject:
		parts := make([]string, len(n.keys))
		for i, k := range n.keys {
			parts[i] = k + "=" + render(n.vals[i])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	default:
		return n.s
	}
}

func typeName(t string) string {
	switch t {
	case "integer":
		return "Integer"
	case "long":
		return "Long"
	case "float":
		return "Float"
	case "double":
		return "Double"
	}
	return t
}

func article(name string) string {
	if strings.ContainsRune("AEIOU", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

// mismatch is the SerializationException for a JSON value of the wrong type.
func mismatch(n *jnode, want, path string) *Error {
	switch n.kind {
	case jObject:
		return Errorf("SerializationException", "Start of structure or map found where not expected%s", at(path))
	case jArray:
		return Errorf("SerializationException", "Start of list found where not expected%s", at(path))
	}
	token := map[jkind]string{jString: "STRING_VALUE", jNumber: "NUMBER_VALUE", jBool: "BOOLEAN_VALUE"}[n.kind]
	return Errorf("SerializationException", "%s can not be converted to %s%s", token, article(want), at(path))
}

// formReader turns Query protocol parameters into a value tree following
// the model: "Name", "Tags.member.1.Key", "Attrs.entry.1.key".
type formReader struct {
	formDecoder // sorted keys for prefix lookups
	m           *serviceModel
	code        string
}

func (f *formReader) structure(s *shape, prefix, path string) (*jnode, *Error) {
	n := &jnode{kind: jObject}
	for i := range s.Members {
		m := &s.Members[i]
		v, e := f.value(f.m.Shapes[m.Shape], prefix+m.wire(), memberPath(path, m.Name))
		if e != nil {
			return nil, e
		}
		if v != nil {
			n.keys = append(n.keys, m.wire())
			n.vals = append(n.vals, v)
		}
	}
	return n, nil
}

func (f *formReader) value(s *shape, key, path string) (*jnode, *Error) {
	switch s.Type {
	case "structure":
		if !f.hasPrefix(key + ".") {
			return nil, nil
		}
		return f.structure(s, key+".", path)
	case "list":
		base := key + "."
		if !s.Flattened {
			name := s.MemberLocation
			if name == "" {
				name = "member"
			}
			base += name + "."
		}
		idx := f.indexes(base)
		if !f.hasPrefix(base) {
			if _, ok := f.form[key]; ok { // "Tags=" is an empty list
				return &jnode{kind: jArray, idx: []int{}}, nil
			}
			return nil, nil
		}
		n := &jnode{kind: jArray, idx: idx}
		elem := f.m.Shapes[s.Member]
		for _, i := range idx {
			p := path + "." + strconv.Itoa(i) + ".member"
			v, e := f.value(elem, base+strconv.Itoa(i), p)
			if e != nil {
				return nil, e
			}
			if v == nil {
				v = &jnode{kind: jNull}
			}
			n.elems = append(n.elems, v)
		}
		return n, nil
	case "map":
		base := key + ".entry."
		idx := f.indexes(base)
		if !f.hasPrefix(base) {
			return nil, nil
		}
		n := &jnode{kind: jObject}
		for _, i := range idx {
			e := base + strconv.Itoa(i) + "."
			k := f.form.Get(e + "key")
			v, err := f.value(f.m.Shapes[s.Value], e+"value", path+"."+k)
			if err != nil {
				return nil, err
			}
			if v == nil {
				v = &jnode{kind: jNull}
			}
			n.keys = append(n.keys, k)
			n.vals = append(n.vals, v)
		}
		return n, nil
	}
	vals, ok := f.form[key]
	if !ok || len(vals) == 0 {
		return nil, nil
	}
	raw := vals[0]
	bad := func(what string) *Error {
		return Errorf(f.code, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be %s", raw, path, what)
	}
	switch s.Type {
	case "string", "blob":
		return &jnode{kind: jString, s: raw}, nil
	case "boolean":
		switch strings.ToLower(raw) {
		case "true", "false":
			return &jnode{kind: jBool, s: strings.ToLower(raw)}, nil
		}
		return nil, bad("a boolean")
	case "integer", "long":
		bits := 32
		if s.Type == "long" {
			bits = 64
		}
		if _, err := strconv.ParseInt(raw, 10, bits); err != nil {
			return nil, bad("an integer")
		}
		return &jnode{kind: jNumber, s: raw}, nil
	case "float", "double":
		if _, err := strconv.ParseFloat(raw, 64); err != nil {
			return nil, bad("a number")
		}
		return &jnode{kind: jNumber, s: raw}, nil
	case "timestamp":
		// The Query protocol sends ISO 8601 timestamps.
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return nil, bad("an ISO 8601 timestamp")
		}
		return &jnode{kind: jNumber, s: strconv.FormatInt(t.Unix(), 10)}, nil
	}
	return &jnode{kind: jString, s: raw}, nil
}
