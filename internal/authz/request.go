package authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/service/s3"
)

// request is one request being authorised, with lazy access to its
// parameters.
type request struct {
	a      *Authorizer
	r      *http.Request
	op     awsapi.Operation
	caller awsapi.Caller
	s3     s3.Request

	body   []byte // a JSON request's body, once read
	parsed bool
}

// ruleKey names the rule of the request: "<iam prefix>:<operation>". The
// error means the service will refuse the request unrouted.
func (q *request) ruleKey() (string, error) {
	switch q.op.Protocol {
	case awsapi.ProtocolJSON:
		svc, ok := jsonServices[q.op.Service]
		if !ok {
			return "", fmt.Errorf("unknown JSON service %s", q.op.Service)
		}
		return svc + ":" + q.op.Name, nil
	case awsapi.ProtocolQuery:
		return q.op.Service + ":" + q.op.Name, nil
	}
	req, err := s3.Classify(q.r)
	if err != nil {
		return "", err
	}
	q.s3 = req
	return "s3:" + req.Op, nil
}

// str returns a top-level string member of a JSON body, or a Query
// parameter; ok is false when it is absent (or null).
func (q *request) str(name string) (string, bool) {
	if q.op.Protocol == awsapi.ProtocolQuery {
		vals, ok := q.r.Form[name]
		if !ok || len(vals) == 0 {
			return "", false
		}
		return vals[0], true
	}
	raw, ok := q.member(name)
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// list returns a member that is a list of strings, or a string (a list of
// one); Query lists are Name.member.N.
func (q *request) list(name string) []string {
	if q.op.Protocol == awsapi.ProtocolQuery {
		var out []string
		for i := 1; ; i++ {
			vals, ok := q.r.Form[name+".member."+strconv.Itoa(i)]
			if !ok || len(vals) == 0 {
				break
			}
			out = append(out, vals[0])
		}
		if v, ok := q.str(name); ok {
			out = append(out, v)
		}
		return out
	}
	raw, ok := q.member(name)
	if !ok {
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	return nil
}

// member returns the value of a top-level member of the JSON body exactly
// as encoding/json hands it to the service's input struct (exact or
// case-insensitive name match, the last occurrence winning), by decoding
// into a struct with the same tag. Reading it any other way would let a
// request show authorisation one value and the service another
// ({"name":"mine","NAME":"theirs"}).
func (q *request) member(name string) (json.RawMessage, bool) {
	if !q.parsed {
		q.parsed = true
		q.body, _ = readBody(q.r)
	}
	if len(bytes.TrimSpace(q.body)) == 0 {
		return nil, false
	}
	t := reflect.StructOf([]reflect.StructField{{
		Name: "V", Type: reflect.TypeFor[json.RawMessage](), Tag: reflect.StructTag(`json:"` + name + `"`),
	}})
	v := reflect.New(t)
	if err := json.Unmarshal(q.body, v.Interface()); err != nil {
		return nil, false
	}
	raw := v.Elem().Field(0).Interface().(json.RawMessage)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

// readBody reads a (buffered, non-S3) request body and puts it back.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, awsapi.DefaultMaxSignedBody+1))
	r.Body.Close()
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), errReader{err}))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return b, nil
}

// errReader replays a read error after the bytes read before it, so the
// service sees the body fail the way it would have.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err == nil {
		return 0, io.EOF
	}
	return 0, e.err
}
