package awsapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Credentials the test key store knows.
const (
	testKeyID     = "AKIDHANGARTEST000001"
	testSecret    = "hangar/test+secret/0000000000000000000000"
	tempKeyID     = "ASIAHANGARTEMP000001"
	tempSecret    = "temporary-secret"
	tempToken     = "session-token-value"
	expiredKeyID  = "ASIAHANGAREXPIRED001"
	testAccountID = "000000000000"
)

// testKeys is a KeyStore with a long-term admin key, a temporary key and an
// expired temporary key; it fails for "AKIDSTOREFAILURE".
func testKeys(now func() time.Time) KeyStore {
	return KeyStoreFunc(func(ctx context.Context, id string) (AccessKey, error) {
		switch id {
		case testKeyID:
			return AccessKey{SecretAccessKey: testSecret, Caller: Caller{
				AccountID: testAccountID, UserName: "alice", ARN: "arn:aws:iam::" + testAccountID + ":user/alice", Admin: true}}, nil
		case tempKeyID:
			return AccessKey{SecretAccessKey: tempSecret, SessionToken: tempToken, Expires: now().Add(time.Hour), Caller: Caller{
				AccountID: testAccountID, UserName: "build", ARN: "arn:aws:sts::" + testAccountID + ":assumed-role/r/build"}}, nil
		case expiredKeyID:
			return AccessKey{SecretAccessKey: tempSecret, SessionToken: tempToken, Expires: now().Add(-time.Minute)}, nil
		case "AKIDSTOREFAILURE":
			return AccessKey{}, errors.New("database is locked")
		}
		return AccessKey{}, ErrUnknownAccessKey
	})
}

// testObjects is the S3 handler of the test server: an in-memory bucket
// that stores what PUT sends, as sent (it does not decode aws-chunked
// bodies: the S3 service does), and reports body verification errors the
// way an S3 handler should.
type testObjects struct {
	mu        sync.Mutex
	objects   map[string][]byte
	encodings map[string]string // Content-Encoding of each PUT
}

func (o *testObjects) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/panic") {
		panic("s3 handler panic")
	}
	switch r.Method {
	case http.MethodPut:
		b, err := io.ReadAll(r.Body)
		if err != nil {
			if e, ok := AsError(err); ok {
				WriteS3Error(w, r, e)
				return
			}
			WriteS3Error(w, r, Errorf("IncompleteBody", "%v", err))
			return
		}
		o.mu.Lock()
		o.objects[r.URL.Path] = b
		o.encodings[r.URL.Path] = r.Header.Get("Content-Encoding")
		o.mu.Unlock()
		sum := sha256.Sum256(b)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
		w.WriteHeader(http.StatusOK)
	case http.MethodGet, http.MethodHead:
		o.mu.Lock()
		b, ok := o.objects[r.URL.Path]
		o.mu.Unlock()
		if !ok {
			WriteS3Error(w, r, &Error{Code: "NoSuchKey", Message: "The specified key does not exist.", Status: http.StatusNotFound})
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	default:
		WriteS3Error(w, r, &Error{Code: "MethodNotAllowed", Message: "nope", Status: http.StatusMethodNotAllowed})
	}
}

type testServer struct {
	*httptest.Server
	objects *testObjects
	clock   *testClock
}

// testClock is the server's clock; tests move it to make signatures
// expire.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
	fixed  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fixed.IsZero() {
		return c.fixed
	}
	return time.Now().Add(c.offset)
}

func (c *testClock) shift(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newTestMux builds the services the tests drive: codebuild, logs, ssm and
// secretsmanager over JSON, iam and sts over Query, and an S3 bucket.
func newTestMux(t testing.TB, auth func(http.Handler) http.Handler, objects *testObjects) *Mux {
	t.Helper()
	log := testLogger(t)
	m := NewMux(log, auth)

	cb, err := NewJSONService("codebuild", log)
	if err != nil {
		t.Fatal(err)
	}
	type project struct {
		Name             string `json:"name"`
		TimeoutInMinutes *int   `json:"timeoutInMinutes,omitempty"`
	}
	// CreateProject's input declares only some model members: the model,
	// not this struct, decides what is unknown.
	Handle(cb, "CreateProject", func(ctx context.Context, in *struct {
		Name             string `json:"name"`
		TimeoutInMinutes *int   `json:"timeoutInMinutes"`
	}) (*struct {
		Project project `json:"project"`
	}, error) {
		return &struct {
			Project project `json:"project"`
		}{project{Name: in.Name, TimeoutInMinutes: in.TimeoutInMinutes}}, nil
	})
	Handle(cb, "ListProjects", func(ctx context.Context, in *struct{}) (*struct {
		Projects []string `json:"projects"`
	}, error) {
		c, ok := CallerFrom(ctx)
		if !ok {
			return nil, errors.New("no caller in context")
		}
		return &struct {
			Projects []string `json:"projects"`
		}{[]string{"caller-" + c.UserName}}, nil
	})
	Handle(cb, "StopBuild", func(ctx context.Context, in *struct {
		ID string `json:"id"`
	}) (*struct{}, error) {
		switch in.ID {
		case "panic":
			panic("handler panic")
		case "fail":
			return nil, errors.New("disk on fire")
		case "missing":
			return nil, Errorf("ResourceNotFoundException", "Build cannot be found: %s", in.ID)
		}
		return &struct{}{}, nil
	})
	m.HandleJSON(cb)

	logs, err := NewJSONService("logs", log)
	if err != nil {
		t.Fatal(err)
	}
	Handle(logs, "CreateLogGroup", func(ctx context.Context, in *struct {
		LogGroupName string            `json:"logGroupName"`
		Tags         map[string]string `json:"tags"`
	}) (*struct{}, error) {
		return &struct{}{}, nil
	})
	m.HandleJSON(logs)

	ssm, err := NewJSONService("ssm", log)
	if err != nil {
		t.Fatal(err)
	}
	Handle(ssm, "PutParameter", func(ctx context.Context, in *struct {
		Name  string
		Value string
		Type  string
	}) (*struct{ Version int64 }, error) {
		return &struct{ Version int64 }{1}, nil
	})
	m.HandleJSON(ssm)

	sm, err := NewJSONService("secretsmanager", log)
	if err != nil {
		t.Fatal(err)
	}
	Handle(sm, "GetSecretValue", func(ctx context.Context, in *struct{ SecretId string }) (*struct{ Name, SecretString string }, error) {
		return &struct{ Name, SecretString string }{in.SecretId, "s3cr3t"}, nil
	})
	m.HandleJSON(sm)

	iam, err := NewQueryService("iam", log)
	if err != nil {
		t.Fatal(err)
	}
	type tag struct{ Key, Value string }
	type role struct {
		RoleName string
		Path     string
		Arn      string
		RoleId   string
		Tags     []tag `xml:"Tags>member"`
		// CreateDate is required by the SDK's deserializer.
		CreateDate string
	}
	HandleQuery(iam, "CreateRole", func(ctx context.Context, in *struct {
		RoleName                 string
		Path                     *string
		AssumeRolePolicyDocument string
		MaxSessionDuration       *int32
		Tags                     []tag
	}) (*struct{ Role role }, error) {
		path := "/"
		if in.Path != nil {
			path = *in.Path
		}
		return &struct{ Role role }{role{
			RoleName: in.RoleName, Path: path, Arn: "arn:aws:iam::" + testAccountID + ":role" + path + in.RoleName,
			RoleId: "AROAHANGARTEST", Tags: in.Tags, CreateDate: "2024-01-02T03:04:05Z"}}, nil
	})
	HandleQuery(iam, "DeleteRole", func(ctx context.Context, in *struct{ RoleName string }) (*struct{}, error) {
		if in.RoleName == "panic" {
			panic("query handler panic")
		}
		return &struct{}{}, nil
	})
	m.HandleQuery(iam)

	sts, err := NewQueryService("sts", log)
	if err != nil {
		t.Fatal(err)
	}
	HandleQuery(sts, "GetCallerIdentity", func(ctx context.Context, in *struct{}) (*struct{ Account, Arn, UserId string }, error) {
		c, _ := CallerFrom(ctx)
		return &struct{ Account, Arn, UserId string }{c.AccountID, c.ARN, c.AccessKeyID}, nil
	})
	m.HandleQuery(sts)

	if objects != nil {
		m.HandleS3(objects)
	}
	return m
}

func newTestServer(t testing.TB, tls bool) *testServer {
	t.Helper()
	clock := &testClock{}
	objects := &testObjects{objects: map[string][]byte{}, encodings: map[string]string{}}
	auth := Authenticate(testKeys(clock.now), WithClock(clock.now), WithAuthLogger(testLogger(t)))
	m := newTestMux(t, auth, objects)
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(m)
	} else {
		srv = httptest.NewServer(m)
	}
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, objects: objects, clock: clock}
}

// sdkConfig is an AWS SDK configuration pointed at s, without retries so
// failures show at once.
func (s *testServer) sdkConfig(id, secret, token string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, token),
		BaseEndpoint:     aws.String(s.URL),
		HTTPClient:       s.Client(),
		RetryMaxAttempts: 1,
	}
}
