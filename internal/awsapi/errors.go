package awsapi

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error in the shape AWS sends it: an exception name (the
// `__type` of JSON protocols, the `Code` of XML ones), a message and an HTTP
// status. Handlers return *Error for anything the client should see; any
// other error becomes a 500 InternalFailure and is logged, not shown.
type Error struct {
	Code    string
	Message string
	Status  int
	// Fields are extra elements of an XML error body: S3 puts details such
	// as <AWSAccessKeyId> or <StringToSign> beside <Code> and <Message>.
	// JSON and Query error bodies leave them out.
	Fields []Field
}

// Field is one extra element of an S3 XML error body.
type Field struct {
	Name  string
	Value string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns a client error (HTTP 400) with a formatted message.
func Errorf(code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...), Status: http.StatusBadRequest}
}

// WithStatus returns a copy of e with HTTP status s.
func (e *Error) WithStatus(s int) *Error {
	c := *e
	c.Status = s
	return &c
}

// WithField returns a copy of e with one more XML error field.
func (e *Error) WithField(name, value string) *Error {
	c := *e
	c.Fields = append(append([]Field(nil), e.Fields...), Field{name, value})
	return &c
}

// AsError returns err as an *Error if it is (or wraps) one.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
