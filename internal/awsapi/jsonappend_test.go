package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// jsonStrings are strings that exercise every branch of AppendJSONString.
var jsonStrings = []string{
	"", "plain ascii line\n", `quote " and backslash \`, "\b\f\n\r\t", "\x00\x01\x1f\x7f",
	"<script>&amp;</script>", "héllo wörld ✓ 𝄞", "bad \xff utf-8 \xc3", "\xe2\x80\xa8 and \xe2\x80\xa9",
	"truncated \xe2\x80", strings.Repeat("x", 300) + "\x1e",
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonStrings {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendJSONStringAppends(t *testing.T) {
	if got := string(AppendJSONString([]byte(`{"a":`), "x<y")); got != `{"a":"x\u003cy"` {
		t.Errorf("got %s", got)
	}
}

type appenderOutput struct {
	A string `json:"a"`
}

func (o *appenderOutput) AppendJSON(b []byte) []byte {
	return append(AppendJSONString(append(b, `{"a":`...), o.A+" (appended)"), '}')
}

func TestWriteJSONUsesAppenderAndSetsLength(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteJSON(rec, httptest.NewRequest("POST", "/", nil), 200, &appenderOutput{A: "x"})
	body := rec.Body.String()
	if want := `{"a":"x (appended)"}`; body != want {
		t.Errorf("body %s, want %s", body, want)
	}
	if cl := rec.Header().Get("Content-Length"); cl != "20" {
		t.Errorf("Content-Length %q, want 20", cl)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// A JSONService encodes JSONAppender outputs into reused buffers: every
// response must still be whole and only its own, whatever size came before.
func TestJSONServiceAppenderOutputs(t *testing.T) {
	s := &JSONService{TargetPrefix: "Test"}
	Handle(s, "Echo", func(_ context.Context, in *struct{ A string }) (*appenderOutput, error) {
		return &appenderOutput{A: in.A}, nil
	})
	for _, a := range []string{strings.Repeat("long ", 1000), "short", "", "<&>"} {
		body, _ := json.Marshal(struct{ A string }{a})
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "Test.Echo")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		want := string((&appenderOutput{A: a}).AppendJSON(nil))
		if rec.Code != 200 || rec.Body.String() != want {
			t.Fatalf("Echo(%.20q): %d %s, want %s", a, rec.Code, rec.Body, want)
		}
		if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(len(want)) {
			t.Errorf("Content-Length %s, want %d", cl, len(want))
		}
	}
}
