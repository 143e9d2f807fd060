package awsapi

import (
	"context"
	"encoding/xml"
	"mime"
	"net/http"
	"strings"
)

// Protocol is an AWS wire protocol; it decides the shape of error bodies.
type Protocol int

const (
	// ProtocolS3 is S3's REST-XML protocol.
	ProtocolS3 Protocol = iota
	// ProtocolJSON is AWS JSON 1.1 (CodeBuild, Logs, SSM, Secrets Manager).
	ProtocolJSON
	// ProtocolQuery is the Query protocol (IAM, STS).
	ProtocolQuery
)

func (p Protocol) String() string {
	switch p {
	case ProtocolJSON:
		return "json"
	case ProtocolQuery:
		return "query"
	default:
		return "s3"
	}
}

// XML namespaces of the Query services' responses and errors.
const (
	IAMNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	STSNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// DetectProtocol tells the protocol of a request from its shape alone,
// without reading the body: JSON requests carry X-Amz-Target, Query requests
// are form-encoded POSTs or carry Action in the query string, anything else
// is S3 (S3 never sends form-encoded bodies).
func DetectProtocol(r *http.Request) Protocol {
	if r.Header.Get("X-Amz-Target") != "" {
		return ProtocolJSON
	}
	if r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			return ProtocolQuery
		}
	}
	if r.URL.Query().Get("Action") != "" && (r.URL.Path == "" || r.URL.Path == "/") {
		return ProtocolQuery
	}
	return ProtocolS3
}

// route is what the Mux learned about a request before handing it on.
type route struct {
	protocol Protocol
	// namespace is the XML namespace of Query errors ("" when unknown).
	namespace string
}

type routeKey struct{}

func withRoute(ctx context.Context, rt route) context.Context {
	return context.WithValue(ctx, routeKey{}, rt)
}

// requestRoute returns the route the Mux stored, or one detected from r.
func requestRoute(r *http.Request) route {
	if rt, ok := r.Context().Value(routeKey{}).(route); ok {
		return rt
	}
	return route{protocol: DetectProtocol(r)}
}

// queryNamespaceFor picks the Query XML namespace by signing service name.
func queryNamespaceFor(service string) string {
	if service == "sts" {
		return STSNamespace
	}
	return IAMNamespace
}

// WriteError writes e in the error shape of the request's protocol (as the
// Mux routed it, else as DetectProtocol tells).
func WriteError(w http.ResponseWriter, r *http.Request, e *Error) {
	rt := requestRoute(r)
	switch rt.protocol {
	case ProtocolJSON:
		WriteJSONError(w, r, e)
	case ProtocolQuery:
		ns := rt.namespace
		if ns == "" {
			if sc, ok := ScopeFrom(r.Context()); ok {
				ns = queryNamespaceFor(sc.Service)
			} else {
				ns = queryNamespaceFor(credentialService(r))
			}
		}
		WriteQueryError(w, r, ns, e)
	default:
		WriteS3Error(w, r, e)
	}
}

// credentialService returns the service of the request's credential scope,
// read without verifying anything ("" if there is none).
func credentialService(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if h := r.Header.Get("Authorization"); h != "" {
		if _, rest, ok := strings.Cut(h, "Credential="); ok {
			cred, _, _ = strings.Cut(rest, ",")
		}
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) == 5 {
		return parts[3]
	}
	return ""
}

// WriteS3Error writes e as S3 does:
//
//	<Error><Code/><Message/>[fields]<RequestId/><HostId/></Error>
//
// with the x-amz-request-id header. HEAD responses carry no body.
func WriteS3Error(w http.ResponseWriter, r *http.Request, e *Error) {
	id := RequestID(r.Context())
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("X-Amz-Request-Id", id)
	h.Set("X-Amz-Id-2", id)
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString("<Error>")
	xmlElement(&b, "Code", e.Code)
	xmlElement(&b, "Message", e.Message)
	for _, f := range e.Fields {
		xmlElement(&b, f.Name, f.Value)
	}
	xmlElement(&b, "RequestId", id)
	xmlElement(&b, "HostId", id)
	b.WriteString("</Error>")
	w.Write([]byte(b.String()))
}

// WriteQueryError writes e as the Query services (IAM, STS) do:
//
//	<ErrorResponse xmlns="ns"><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>
//
// Type is Receiver for 5xx errors.
func WriteQueryError(w http.ResponseWriter, r *http.Request, namespace string, e *Error) {
	id := RequestID(r.Context())
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	var b strings.Builder
	b.WriteString(`<ErrorResponse xmlns="`)
	xml.EscapeText(&escWriter{&b}, []byte(namespace))
	b.WriteString(`"><Error>`)
	xmlElement(&b, "Type", typ)
	xmlElement(&b, "Code", e.Code)
	xmlElement(&b, "Message", e.Message)
	b.WriteString("</Error>")
	xmlElement(&b, "RequestId", id)
	b.WriteString("</ErrorResponse>\n")
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-RequestId", id)
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

type escWriter struct{ b *strings.Builder }

func (e *escWriter) Write(p []byte) (int, error) { return e.b.Write(p) }

func xmlElement(b *strings.Builder, name, value string) {
	b.WriteString("<" + name + ">")
	xml.EscapeText(&escWriter{b}, []byte(value))
	b.WriteString("</" + name + ">")
}
