package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// MaxJSONBody is the largest JSON request body accepted. AWS JSON services
// cap requests well below this; anything larger is refused unread.
const MaxJSONBody = 8 << 20

// ContentTypeJSON is the content type of AWS JSON 1.1 requests and responses.
const ContentTypeJSON = "application/x-amz-json-1.1"

type jsonOp struct {
	name   string
	handle func(ctx context.Context, body []byte, strict bool) (any, error)
}

// JSONService serves one AWS JSON 1.1 service: requests are POST / with
// X-Amz-Target "<TargetPrefix>.<Operation>" and a JSON body.
type JSONService struct {
	// TargetPrefix is the part of X-Amz-Target before the dot, e.g.
	// "CodeBuild_20161006".
	TargetPrefix string
	// Validate, when set, checks a request body against the service model
	// before it is decoded; it returns the *Error to send. With a
	// validator the model decides which members are unknown, so bodies are
	// then decoded leniently: handler structs need not declare every member
	// the model has. Without one, decoding is strict.
	// (*Validator).Validate fits here.
	Validate func(op string, body []byte) *Error
	Log      *slog.Logger

	ops map[string]jsonOp
	// bufs recycles the buffers JSONAppender outputs are encoded into
	// (*[]byte): a follower asks for a page of up to 2 MB every few
	// milliseconds, and fresh memory that size costs page faults each time.
	bufs sync.Pool
}

// Handle registers fn as operation op of s. The request body is decoded into
// a new In; the returned *Out is encoded as the response body.
func Handle[In, Out any](s *JSONService, op string, fn func(context.Context, *In) (*Out, error)) {
	if s.ops == nil {
		s.ops = make(map[string]jsonOp)
	}
	s.ops[op] = jsonOp{name: op, handle: func(ctx context.Context, body []byte, strict bool) (any, error) {
		in := new(In)
		if err := decodeJSON(body, in, strict); err != nil {
			return nil, err
		}
		return fn(ctx, in)
	}}
}

// decodeJSON decodes body; when strict, unknown members are errors. Wrong
// types are SerializationExceptions, as AWS reports them.
func decodeJSON(body []byte, v any, strict bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return serializationError(err)
	}
	if dec.More() {
		return Errorf("SerializationException", "Unexpected content after the request body")
	}
	return nil
}

func serializationError(err error) *Error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "request body"
		}
		return Errorf("SerializationException", "Cannot deserialize %s: expected %s, got %s", field, te.Type, te.Value)
	case errors.As(err, &se):
		return Errorf("SerializationException", "Malformed JSON at offset %d: %v", se.Offset, err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return Errorf("SerializationException", "Unrecognized field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return Errorf("SerializationException", "Cannot deserialize the request body: %v", err)
	}
}

// Operation returns the operation named by an X-Amz-Target header value, or
// "" when the header is not for this service.
func (s *JSONService) Operation(target string) string {
	prefix, op, ok := strings.Cut(target, ".")
	if !ok || prefix != s.TargetPrefix {
		return ""
	}
	return op
}

// ServeHTTP serves one request.
func (s *JSONService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	opName := s.Operation(target)
	op, ok := s.ops[opName]
	if !ok {
		WriteJSONError(w, r, Errorf("UnknownOperationException", "Unknown operation %s", target))
		return
	}
	if r.Method != http.MethodPost {
		WriteJSONError(w, r, Errorf("UnknownOperationException", "Operation %s must be called with POST", opName))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			WriteJSONError(w, r, Errorf("SerializationException", "Request body is larger than %d bytes", MaxJSONBody).WithStatus(http.StatusRequestEntityTooLarge))
			return
		}
		WriteJSONError(w, r, Errorf("SerializationException", "Cannot read the request body: %v", err))
		return
	}
	if s.Validate != nil {
		if verr := s.Validate(opName, body); verr != nil {
			WriteJSONError(w, r, verr)
			return
		}
	}
	out, err := op.handle(r.Context(), body, s.Validate == nil)
	if err != nil {
		e, ok := AsError(err)
		if !ok {
			log := s.Log
			if log == nil {
				log = slog.New(slog.DiscardHandler)
			}
			log.Error("request failed", "operation", s.TargetPrefix+"."+opName, "err", err)
			e = internalFailure()
		}
		WriteJSONError(w, r, e)
		return
	}
	if a, ok := out.(JSONAppender); ok {
		bp, _ := s.bufs.Get().(*[]byte)
		if bp == nil {
			bp = new([]byte)
		}
		b := a.AppendJSON((*bp)[:0])
		writeJSONBody(w, r, http.StatusOK, b)
		if cap(b) <= maxPooledBody {
			*bp = b
			s.bufs.Put(bp)
		}
		return
	}
	WriteJSON(w, r, http.StatusOK, out)
}

// maxPooledBody is the largest response buffer a JSONService keeps for
// reuse: a full page of log events (1 MB of messages in up to 10,000
// events) fits.
const maxPooledBody = 4 << 20

// WriteJSON writes v as an AWS JSON 1.1 response.
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var b []byte
	if a, ok := v.(JSONAppender); ok {
		b = a.AppendJSON(nil)
	} else {
		var err error
		if b, err = json.Marshal(v); err != nil {
			b = []byte(fmt.Sprintf(`{"__type":"InternalFailure","message":%q}`, err.Error()))
			status = http.StatusInternalServerError
		}
	}
	writeJSONBody(w, r, status, b)
}

func writeJSONBody(w http.ResponseWriter, r *http.Request, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", ContentTypeJSON)
	h.Set("X-Amzn-RequestId", RequestID(r.Context()))
	// The whole body is at hand: a length spares big responses the chunked
	// framing and lets clients size their buffers.
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// WriteJSONError writes e in the JSON protocols' error shape: body
// {"__type","message"} and header X-Amzn-ErrorType.
func WriteJSONError(w http.ResponseWriter, r *http.Request, e *Error) {
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	WriteJSON(w, r, status, struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.Code, e.Message})
}

// NewJSONService returns the JSON service named by a model ("codebuild",
// "logs", "ssm", "secretsmanager") with its target prefix and model
// validation filled in.
func NewJSONService(service string, log *slog.Logger) (*JSONService, error) {
	v, err := NewValidator(service)
	if err != nil {
		return nil, fmt.Errorf("new json service: %w", err)
	}
	md := v.model.Metadata
	if md.Protocol != "json" {
		return nil, fmt.Errorf("new json service: %s speaks %s, not json", service, md.Protocol)
	}
	return &JSONService{TargetPrefix: md.TargetPrefix, Validate: v.Validate, Log: log}, nil
}
