package awsapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

type queryOp struct {
	handle    func(ctx context.Context, form url.Values) (any, error)
	hasResult bool
}

// QueryService serves one AWS Query protocol service (IAM, STS): requests
// are form-encoded POSTs (or GETs) with Action and Version parameters;
// responses are XML:
//
//	<ActionResponse xmlns="ns"><ActionResult>…</ActionResult><ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></ActionResponse>
type QueryService struct {
	// SigningName is the SigV4 service name ("iam", "sts"); the Mux routes
	// Query requests by the credential scope's service.
	SigningName string
	// Version is the API version (IAM "2010-05-08", STS "2011-06-15").
	Version string
	// Namespace is the XML namespace of responses and errors.
	Namespace string
	// Validate, when set, checks the parameters against the service model
	// before they are decoded. (*Validator).ValidateForm fits here.
	Validate func(action string, form url.Values) *Error
	Log      *slog.Logger

	ops map[string]queryOp
}

// NewQueryService returns the Query service named by a model ("iam" or
// "sts") with its version, namespace and model validation filled in.
func NewQueryService(service string, log *slog.Logger) (*QueryService, error) {
	v, err := NewValidator(service)
	if err != nil {
		return nil, fmt.Errorf("new query service: %w", err)
	}
	md := v.model.Metadata
	if md.Protocol != "query" {
		return nil, fmt.Errorf("new query service: %s speaks %s, not query", service, md.Protocol)
	}
	return &QueryService{
		SigningName: md.SigningName,
		Version:     md.APIVersion,
		Namespace:   md.XMLNamespace,
		Validate:    v.ValidateForm,
		Log:         log,
	}, nil
}

// HandleQuery registers fn as action of s. The request parameters are
// decoded into a new In (see DecodeForm); the returned *Out is encoded as
// the <ActionResult> element with encoding/xml, so Out's fields carry xml
// tags (lists as `xml:"Roles>member"`). An Out without fields sends no
// Result element, as AWS does for actions like DeleteRole.
func HandleQuery[In, Out any](s *QueryService, action string, fn func(context.Context, *In) (*Out, error)) {
	if s.ops == nil {
		s.ops = make(map[string]queryOp)
	}
	out := reflect.TypeFor[Out]()
	s.ops[action] = queryOp{
		hasResult: out.Kind() != reflect.Struct || out.NumField() > 0,
		handle: func(ctx context.Context, form url.Values) (any, error) {
			in := new(In)
			if err := DecodeForm(form, in); err != nil {
				return nil, err
			}
			return fn(ctx, in)
		},
	}
}

// HasAction reports whether s serves action.
func (s *QueryService) HasAction(action string) bool {
	_, ok := s.ops[action]
	return ok
}

func (s *QueryService) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// ServeHTTP serves one request.
func (s *QueryService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		WriteQueryError(w, r, s.Namespace, status("InvalidAction", http.StatusBadRequest, "Query requests must be POST or GET"))
		return
	}
	if err := r.ParseForm(); err != nil {
		WriteQueryError(w, r, s.Namespace, status("MalformedQueryString", http.StatusBadRequest, "Cannot parse the request parameters: %v", err))
		return
	}
	action := r.Form.Get("Action")
	if action == "" {
		WriteQueryError(w, r, s.Namespace, status("MissingAction", http.StatusBadRequest, "Missing Action"))
		return
	}
	op, ok := s.ops[action]
	if !ok {
		WriteQueryError(w, r, s.Namespace, status("InvalidAction", http.StatusBadRequest, "Could not find operation %s for version %s", action, s.Version))
		return
	}
	if s.Validate != nil {
		if e := s.Validate(action, r.Form); e != nil {
			WriteQueryError(w, r, s.Namespace, e)
			return
		}
	}
	out, err := op.handle(r.Context(), r.Form)
	if err != nil {
		e, ok := AsError(err)
		if !ok {
			s.log().Error("request failed", "service", s.SigningName, "action", action, "err", err)
			e = internalFailure()
		}
		WriteQueryError(w, r, s.Namespace, e)
		return
	}
	body, err := encodeQueryResponse(action, s.Namespace, RequestID(r.Context()), out, op.hasResult)
	if err != nil {
		s.log().Error("encode response", "service", s.SigningName, "action", action, "err", err)
		WriteQueryError(w, r, s.Namespace, internalFailure())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-RequestId", RequestID(r.Context()))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func encodeQueryResponse(action, namespace, requestID string, out any, hasResult bool) ([]byte, error) {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	start := xml.StartElement{
		Name: xml.Name{Local: action + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: namespace}},
	}
	if err := enc.EncodeToken(start); err != nil {
		return nil, err
	}
	if hasResult && !isNil(out) {
		if err := enc.EncodeElement(out, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return nil, fmt.Errorf("encode %sResult: %w", action, err)
		}
	}
	meta := struct {
		RequestID string `xml:"RequestId"`
	}{requestID}
	if err := enc.EncodeElement(meta, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return nil, err
	}
	if err := enc.EncodeToken(start.End()); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// DecodeForm decodes Query protocol parameters into the struct v points
// to. A field's parameter name is its `query:"Name"` tag or its Go name;
// nested structures use "Parent.Child", lists "Name.member.N" (1-based, in
// N order; "Name.N" with the tag option `query:"Name,flat"`), maps
// "Name.entry.N.key" and "Name.entry.N.value". Supported
// field types: strings, booleans, integers, floats, time.Time (ISO 8601),
// []byte (base64), pointers, slices, map[string]T and structs. Unknown
// parameters are ignored. Bad values are ValidationError *Errors.
func DecodeForm(form url.Values, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("decode form: need a pointer to a struct, got %T", v)
	}
	d := formDecoder{form: form, keys: sortedKeys(form)}
	return d.structure(rv.Elem(), "")
}

type formDecoder struct {
	form url.Values
	keys []string // sorted, for prefix lookups
}

func sortedKeys(form url.Values) []string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// hasPrefix reports whether any parameter starts with prefix.
func (d *formDecoder) hasPrefix(prefix string) bool {
	i := sort.SearchStrings(d.keys, prefix)
	return i < len(d.keys) && strings.HasPrefix(d.keys[i], prefix)
}

// indexes returns the sorted distinct positive N of parameters "<prefix>N[.…]".
func (d *formDecoder) indexes(prefix string) []int {
	seen := map[int]bool{}
	for i := sort.SearchStrings(d.keys, prefix); i < len(d.keys) && strings.HasPrefix(d.keys[i], prefix); i++ {
		num, _, _ := strings.Cut(d.keys[i][len(prefix):], ".")
		if n, err := strconv.Atoi(num); err == nil && n > 0 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

func (d *formDecoder) present(key string) bool {
	_, ok := d.form[key]
	return ok || d.hasPrefix(key+".")
}

func (d *formDecoder) structure(v reflect.Value, prefix string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, flat := f.Name, false
		if tag, ok := f.Tag.Lookup("query"); ok {
			if tag == "-" {
				continue
			}
			var opts string
			name, opts, _ = strings.Cut(tag, ",")
			flat = opts == "flat"
			if name == "" {
				name = f.Name
			}
		}
		if err := d.value(v.Field(i), prefix+name, flat); err != nil {
			return err
		}
	}
	return nil
}

var timeType = reflect.TypeFor[time.Time]()

// value decodes parameter key into v; flat lists are "Name.N" rather than
// "Name.member.N".
func (d *formDecoder) value(v reflect.Value, key string, flat bool) error {
	switch {
	case v.Kind() == reflect.Pointer:
		if !d.present(key) {
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := d.value(p.Elem(), key, flat); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case v.Type() == timeType || v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
		// scalars below
	case v.Kind() == reflect.Struct:
		if !d.hasPrefix(key + ".") {
			return nil
		}
		return d.structure(v, key+".")
	case v.Kind() == reflect.Slice:
		prefix := key + ".member."
		if flat {
			prefix = key + "."
		}
		idx := d.indexes(prefix)
		if len(idx) == 0 {
			if _, ok := d.form[key]; ok { // "Name=" is an empty list
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			}
			return nil
		}
		s := reflect.MakeSlice(v.Type(), len(idx), len(idx))
		for i, n := range idx {
			if err := d.value(s.Index(i), prefix+strconv.Itoa(n), false); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case v.Kind() == reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("decode form: %s: map keys must be strings", key)
		}
		prefix := key + ".entry."
		idx := d.indexes(prefix)
		if len(idx) == 0 {
			return nil
		}
		m := reflect.MakeMapWithSize(v.Type(), len(idx))
		for _, n := range idx {
			e := prefix + strconv.Itoa(n) + "."
			val := reflect.New(v.Type().Elem()).Elem()
			if err := d.value(val, e+"value", false); err != nil {
				return err
			}
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString(d.form.Get(e + "key"))
			m.SetMapIndex(k, val)
		}
		v.Set(m)
		return nil
	}
	vals, ok := d.form[key]
	if !ok || len(vals) == 0 {
		return nil
	}
	return setScalar(v, key, vals[0])
}

func setScalar(v reflect.Value, key, raw string) error {
	bad := func(what string) error {
		return Errorf("ValidationError", "Value '%s' for parameter %s is invalid: must be %s", raw, key, what)
	}
	switch {
	case v.Type() == timeType:
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return bad("an ISO 8601 timestamp")
		}
		v.Set(reflect.ValueOf(t))
		return nil
	case v.Kind() == reflect.Slice: // []byte
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return bad("base64")
		}
		v.SetBytes(b)
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return bad("true or false")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, v.Type().Bits())
		if err != nil {
			return bad("an integer")
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(raw, 10, v.Type().Bits())
		if err != nil {
			return bad("a non-negative integer")
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(raw, v.Type().Bits())
		if err != nil {
			return bad("a number")
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("decode form: %s: unsupported field type %s", key, v.Type())
	}
	return nil
}
