package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/runner"
	stssvc "github.com/hangarci/hangar/internal/service/sts"
)

// CredentialsPath is where a build fetches its role's credentials:
// CredentialsPath + <build uuid>, with its token in Authorization, as the
// SDKs do for AWS_CONTAINER_CREDENTIALS_FULL_URI and
// AWS_CONTAINER_AUTHORIZATION_TOKEN. Like the health check it lives under
// a name no bucket can have, and needs no signature: the token is the
// proof.
const CredentialsPath = "/_hangar/credentials/"

// refreshBefore is how long before a session expires the endpoint hands
// out a new one: more than the SDKs' own refresh margins (botocore asks
// 15 minutes ahead, the Go SDK 5), so a refresh always gets fresh keys.
const refreshBefore = 20 * time.Minute

// buildCredentials issues builds their role sessions and serves them on
// the container credentials endpoint.
type buildCredentials struct {
	sts   *stssvc.Service
	names model.Names
	log   *slog.Logger
	// duration is how long each session lasts: an hour (STS's default)
	// when 0; tests shorten it to see refreshes.
	duration time.Duration
	// endpoint is the URL builds reach the runner at; set once listening.
	endpoint atomic.Pointer[string]

	mu     sync.Mutex
	builds map[string]*buildSession // by build uuid
}

// buildSession is one build's credentials.
type buildSession struct {
	token   string
	roleArn string
	session string
	mask    func(values ...string)

	mu       sync.Mutex
	cur      *stssvc.Session
	keys     []string // every access key id issued, revoked at the end
	released bool     // the build ended: no new session, ever
}

func newBuildCredentials(sts *stssvc.Service, names model.Names, log *slog.Logger) *buildCredentials {
	return &buildCredentials{sts: sts, names: names, log: log, builds: map[string]*buildSession{}}
}

// setListener records where builds reach the runner: its listener's
// address, with an unspecified host (0.0.0.0, ::) made loopback. Loopback
// matters: the SDKs take a plain-http credentials URL only from a loopback
// address (or the ECS/EKS link-local ones).
func (c *buildCredentials) setListener(addr net.Addr) {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	u := "http://" + net.JoinHostPort(host, port)
	c.endpoint.Store(&u)
}

// Issue assumes the build's role for codebuild.amazonaws.com and registers
// the session with the endpoint under a fresh random token.
func (c *buildCredentials) Issue(ctx context.Context, req runner.CredentialsRequest) (*runner.BuildCredentials, error) {
	ep := c.endpoint.Load()
	if ep == nil {
		return nil, errors.New("the runner is not listening yet")
	}
	sess, err := c.sts.AssumeRoleForService(ctx, req.RoleArn, buildService, req.SessionName, c.duration)
	if _, ok := awsapi.AsError(err); ok {
		// CodeBuild's words when it cannot use a project's role: no such
		// role, or one whose trust policy does not let CodeBuild in.
		return nil, &runner.CredentialsError{Message: fmt.Sprintf("CodeBuild is not authorized to perform: sts:AssumeRole on %s", req.RoleArn)}
	}
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 32)
	rand.Read(tok)
	bs := &buildSession{token: base64.RawURLEncoding.EncodeToString(tok), roleArn: sess.RoleArn, session: req.SessionName,
		mask: req.Mask, cur: sess, keys: []string{sess.AccessKeyID}}
	c.mu.Lock()
	c.builds[req.Build] = bs
	c.mu.Unlock()
	return &runner.BuildCredentials{
		Env: []string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + *ep + CredentialsPath + req.Build,
			"AWS_CONTAINER_AUTHORIZATION_TOKEN=" + bs.token,
			"AWS_ENDPOINT_URL=" + *ep,
		},
		Secrets: []string{sess.AccessKeyID, sess.SecretAccessKey, sess.SessionToken, bs.token},
		Caller: awsapi.Caller{AccessKeyID: sess.AccessKeyID, AccountID: c.names.Account, UserName: req.SessionName,
			ARN: sess.AssumedRoleArn},
		Release: func(ctx context.Context) { c.release(ctx, req.Build) },
	}, nil
}

// release forgets a build's token and revokes every session issued to it.
func (c *buildCredentials) release(ctx context.Context, build string) {
	c.mu.Lock()
	bs := c.builds[build]
	delete(c.builds, build)
	c.mu.Unlock()
	if bs == nil {
		return
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.released = true
	for _, id := range bs.keys {
		if err := c.sts.Revoke(ctx, id); err != nil {
			c.log.Warn("revoke build credentials", "build", build, "key", id, "err", err)
		}
	}
}

// containerCredentials is the JSON the SDKs' container providers read.
type containerCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	RoleArn         string `json:"RoleArn"`
}

// ServeHTTP answers GET CredentialsPath<build> with the build's current
// session when the Authorization header holds its token. Any other
// request gets the same 403, so nobody learns which builds exist.
func (c *buildCredentials) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	build := strings.TrimPrefix(r.URL.Path, CredentialsPath)
	c.mu.Lock()
	bs := c.builds[build]
	c.mu.Unlock()
	tok := r.Header.Get("Authorization")
	if r.Method != http.MethodGet || bs == nil || subtle.ConstantTimeCompare([]byte(tok), []byte(bs.token)) != 1 {
		writeCredentialsError(w, http.StatusForbidden, "AccessDenied", "Invalid or missing credentials token for this path")
		return
	}
	sess, err := c.current(r.Context(), bs)
	if err != nil {
		c.log.Warn("refresh build credentials", "build", build, "err", err)
		writeCredentialsError(w, http.StatusInternalServerError, "InternalError", "Cannot refresh the build's credentials: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(containerCredentials{
		AccessKeyID: sess.AccessKeyID, SecretAccessKey: sess.SecretAccessKey, Token: sess.SessionToken,
		Expiration: sess.Expiration.UTC().Format(time.RFC3339), RoleArn: bs.roleArn,
	})
}

// current returns the build's session, first replacing it when it is
// close to expiring (a build longer than the role's session), and has
// the build's log mask the new one.
func (c *buildCredentials) current(ctx context.Context, bs *buildSession) (*stssvc.Session, error) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.released {
		// A request that raced the end of its build.
		return nil, errors.New("the build has ended")
	}
	if time.Until(bs.cur.Expiration) > refreshBefore {
		return bs.cur, nil
	}
	sess, err := c.sts.AssumeRoleForService(ctx, bs.roleArn, buildService, bs.session, c.duration)
	if err != nil {
		return nil, err
	}
	if bs.mask != nil {
		bs.mask(sess.AccessKeyID, sess.SecretAccessKey, sess.SessionToken)
	}
	bs.cur = sess
	bs.keys = append(bs.keys, sess.AccessKeyID)
	return sess, nil
}

func writeCredentialsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

// buildService is the principal builds' role sessions are issued to.
const buildService = "codebuild.amazonaws.com"

// routes is the runner's HTTP handler: the credentials endpoint, and the
// AWS APIs for everything else.
func (rt *runtime) routes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, CredentialsPath) {
			rt.creds.ServeHTTP(w, r)
			return
		}
		rt.handler.ServeHTTP(w, r)
	})
}

// authorizeS3 decides the per-key checks of S3's DeleteObjects and blob
// packs.
func (rt *runtime) authorizeS3(ctx context.Context, action, resource string) error {
	d, err := rt.authz.CheckCaller(ctx, action, resource)
	if err != nil {
		return err
	}
	if d != nil {
		return d.ErrorFor(awsapi.ProtocolS3)
	}
	return nil
}
