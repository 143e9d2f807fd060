package awsapi

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/google/uuid"
)

// HealthPath answers 200 without authentication. It lives under a name no
// S3 bucket can have (bucket names cannot contain '_'), so it never hides
// a bucket.
const HealthPath = "/_hangar/health"

// Mux serves every AWS service of a runner on one listener:
//
//   - JSON 1.1 services by the X-Amz-Target prefix;
//   - Query services (IAM, STS) for form-encoded POSTs or GETs with Action,
//     by the credential scope's service, else by who knows the Action;
//   - everything else to the S3 handler (path-style /bucket/key).
//
// Every request gets a request id (RequestID) and, when Auth is set, goes
// through it (typically Authenticate) after routing, so refusals are in the
// right protocol's shape. Panics become a 500 InternalFailure in that shape.
// Register services before serving; a Mux is not safe for concurrent
// registration.
type Mux struct {
	log   *slog.Logger
	json  map[string]*JSONService
	query []*QueryService
	s3    http.Handler
	next  http.Handler
	authz Authorizer
}

// NewMux returns an empty Mux. auth wraps every request but the health
// check; nil means no authentication (tests, development).
func NewMux(log *slog.Logger, auth func(http.Handler) http.Handler) *Mux {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Mux{log: log, json: make(map[string]*JSONService)}
	m.next = http.HandlerFunc(m.dispatch)
	if auth != nil {
		m.next = auth(m.next)
	}
	return m
}

// HandleJSON serves s for its TargetPrefix.
func (m *Mux) HandleJSON(s *JSONService) { m.json[s.TargetPrefix] = s }

// HandleQuery serves s for requests signed for its SigningName.
func (m *Mux) HandleQuery(s *QueryService) { m.query = append(m.query, s) }

// HandleS3 serves h for every request that is neither JSON nor Query.
func (m *Mux) HandleS3(h http.Handler) { m.s3 = h }

// Authorize makes every request of an authenticated caller that is not an
// admin pass a, once routed and before its service sees it. Deciding
// where the Mux routes, rather than before, means the operation checked is
// the one that runs, whatever the request claims elsewhere (a JSON target
// of one service signed for another, say).
func (m *Mux) Authorize(a Authorizer) { m.authz = a }

// statusWriter remembers whether the response has started, so a panic
// after that is not answered twice.
type statusWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush keeps streaming handlers (log tails, S3 downloads) working through
// the wrapper.
func (w *statusWriter) Flush() {
	w.wrote = true
	http.NewResponseController(w.ResponseWriter).Flush()
}

// ReadFrom keeps the server's sendfile path for io.Copy of files.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wrote = true
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
}

// ServeHTTP routes one request.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := WithRequestID(r.Context(), uuid.NewString())
	rt := route{protocol: DetectProtocol(r)}
	if rt.protocol == ProtocolQuery {
		if s := m.queryByScope(credentialService(r)); s != nil {
			rt.namespace = s.Namespace
		}
	}
	r = r.WithContext(withRoute(ctx, rt))
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		m.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path,
			"request_id", RequestID(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		if !sw.wrote {
			e := internalFailure()
			if rt.protocol == ProtocolS3 {
				e = &Error{Code: "InternalError", Message: "We encountered an internal error. Please try again.", Status: http.StatusInternalServerError}
			}
			WriteError(sw, r, e)
		}
	}()
	if r.URL.Path == HealthPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		sw.Header().Set("Content-Type", "application/json")
		sw.WriteHeader(http.StatusOK)
		sw.Write([]byte(`{"status":"ok"}` + "\n"))
		return
	}
	if r.ContentLength == 0 && r.ProtoAtLeast(1, 1) && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		// net/http sends "100 Continue" only when a handler reads a body,
		// so never for an empty one. botocore, answered without it, keeps
		// that answer's status line for the connection and reads the next
		// answer on it with the stale one: the aws CLI then hangs for its
		// one-minute read timeout (e.g. `aws s3 cp` of an empty file, then
		// any upload on the same connection). S3 sends it; so do we.
		w.WriteHeader(http.StatusContinue)
	}
	m.next.ServeHTTP(sw, r)
}

func (m *Mux) queryByScope(service string) *QueryService {
	for _, s := range m.query {
		if s.SigningName == service {
			return s
		}
	}
	return nil
}

func (m *Mux) dispatch(w http.ResponseWriter, r *http.Request) {
	switch requestRoute(r).protocol {
	case ProtocolJSON:
		target := r.Header.Get("X-Amz-Target")
		prefix, _, _ := strings.Cut(target, ".")
		s, ok := m.json[prefix]
		if !ok {
			WriteJSONError(w, r, Errorf("UnknownOperationException", "Unknown operation %s", target))
			return
		}
		if !m.authorize(w, r, Operation{Protocol: ProtocolJSON, Service: prefix, Name: s.Operation(target)}) {
			return
		}
		s.ServeHTTP(w, r)
	case ProtocolQuery:
		s := m.pickQuery(r)
		if s == nil {
			WriteQueryError(w, r, IAMNamespace, Errorf("InvalidAction", "No Query service is served here"))
			return
		}
		r = r.WithContext(withRoute(r.Context(), route{protocol: ProtocolQuery, namespace: s.Namespace}))
		if err := r.ParseForm(); err != nil {
			// Answered here: a second ParseForm (the service's) would
			// not report the error again, and a half-parsed form must
			// neither be authorised nor served.
			WriteQueryError(w, r, s.Namespace, status("MalformedQueryString", http.StatusBadRequest, "Cannot parse the request parameters: %v", err))
			return
		}
		if !m.authorize(w, r, Operation{Protocol: ProtocolQuery, Service: s.SigningName, Name: r.Form.Get("Action")}) {
			return
		}
		s.ServeHTTP(w, r)
	default:
		if m.s3 == nil {
			WriteS3Error(w, r, &Error{Code: "NotImplemented", Message: "S3 is not served here.", Status: http.StatusNotImplemented})
			return
		}
		// S3 clients read the request id from these headers on every
		// response, so set them here rather than in each handler.
		id := RequestID(r.Context())
		w.Header().Set("X-Amz-Request-Id", id)
		w.Header().Set("X-Amz-Id-2", id)
		if !m.authorize(w, r, Operation{Protocol: ProtocolS3, Service: "s3"}) {
			return
		}
		m.s3.ServeHTTP(w, r)
	}
}

// pickQuery chooses the Query service of a request: the one it was signed
// for (IAM and STS both use Action, so the scope decides), else the one
// that knows its Action, else the first.
func (m *Mux) pickQuery(r *http.Request) *QueryService {
	service := credentialService(r)
	if sc, ok := ScopeFrom(r.Context()); ok {
		service = sc.Service
	}
	if s := m.queryByScope(service); s != nil {
		return s
	}
	if err := r.ParseForm(); err == nil {
		action := r.Form.Get("Action")
		for _, s := range m.query {
			if s.HasAction(action) {
				return s
			}
		}
	}
	if len(m.query) > 0 {
		return m.query[0]
	}
	return nil
}
