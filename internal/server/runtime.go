package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hangarci/hangar/internal/authz"
	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/blobstore"
	"github.com/hangarci/hangar/internal/logstore"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/runner"
	"github.com/hangarci/hangar/internal/sandbox"
	"github.com/hangarci/hangar/internal/scheduler"
	"github.com/hangarci/hangar/internal/seal"
	"github.com/hangarci/hangar/internal/service/codebuild"
	iamsvc "github.com/hangarci/hangar/internal/service/iam"
	logsvc "github.com/hangarci/hangar/internal/service/logs"
	s3svc "github.com/hangarci/hangar/internal/service/s3"
	"github.com/hangarci/hangar/internal/service/secretsmanager"
	"github.com/hangarci/hangar/internal/service/ssm"
	stssvc "github.com/hangarci/hangar/internal/service/sts"
	"github.com/hangarci/hangar/internal/sourcecache"
	"github.com/hangarci/hangar/internal/store"
)

// runtime is a running runner's parts.
type runtime struct {
	cfg     Config
	db      *store.DB
	seal    *seal.Key
	logs    *logstore.Store
	blobs   *blobstore.Store
	host    *sandbox.Host
	runner  *runner.Runner
	sched   *scheduler.Scheduler
	iam     *iamsvc.Service
	sts     *stssvc.Service
	handler *awsapi.Mux
	act     activity
	authz   *authz.Authorizer
	creds   *buildCredentials
}

// Files and directories in the state dir.
const (
	dbFile    = "hangar.db"
	sealFile  = "master.key"
	logsDir   = "logs"
	blobsDir  = "blobs"
	buildsDir = "builds"
)

// killGrace is how long a stopped or timed-out build's processes get
// between SIGTERM and SIGKILL: a second, so that StopBuild answers with the
// build STOPPED and its whole tree gone (SIGTERM-trapping children too)
// within two seconds.
const killGrace = time.Second

// open opens the store and builds every service.
func open(ctx context.Context, cfg Config) (*runtime, error) {
	rt := &runtime{cfg: cfg}
	ok := false
	defer func() {
		if !ok {
			rt.close()
		}
	}()
	var err error
	dir := cfg.StateDir
	if rt.seal, err = seal.LoadOrCreateKey(filepath.Join(dir, sealFile)); err != nil {
		return nil, fmt.Errorf("load the sealing key: %w", err)
	}
	if rt.db, err = store.Open(ctx, filepath.Join(dir, dbFile)); err != nil {
		return nil, err
	}
	if rt.logs, err = logstore.Open(filepath.Join(dir, logsDir), logstore.Options{Logger: cfg.Log}); err != nil {
		return nil, fmt.Errorf("open the log store: %w", err)
	}
	if rt.blobs, err = blobstore.Open(filepath.Join(dir, blobsDir)); err != nil {
		return nil, fmt.Errorf("open the blob store: %w", err)
	}
	work := filepath.Join(dir, buildsDir)
	// Work dirs of builds that were running when the runner last stopped
	// are garbage now.
	os.RemoveAll(work)
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, fmt.Errorf("make %s: %w", work, err)
	}
	host, err := sandbox.NewHost(sandbox.HostOptions{WorkDir: filepath.Join(work, ".sandbox"), KillGrace: killGrace, Logger: cfg.Log})
	if err != nil {
		return nil, fmt.Errorf("start the sandbox executor: %w", err)
	}
	rt.host = host
	// Cgroups and control dirs of builds killed with the last runner.
	if err := host.Prune(ctx); err != nil {
		cfg.Log.Warn("prune leftover sandboxes", "err", err)
	}
	names := model.Names{Region: cfg.Region, Account: model.Account}

	s3 := s3svc.New(rt.db, rt.blobs, names, cfg.Log)
	s3.ChunkVerifier = s3ChunkVerifier
	if _, err := s3.RemoveOrphanBlobs(ctx); err != nil {
		return nil, fmt.Errorf("remove orphan blobs: %w", err)
	}
	params := ssm.New(ssm.Config{DB: rt.db, Sealer: rt.seal, Names: names, Log: cfg.Log})
	secrets := secretsmanager.New(secretsmanager.Config{DB: rt.db, Sealer: rt.seal, Names: names, Log: cfg.Log})

	// Identity before the runner: builds assume their roles through STS,
	// and resolve variables and call the API with what authz allows them.
	if rt.iam, err = iamsvc.New(iamsvc.Config{DB: rt.db, Sealer: rt.seal, Names: names, Log: cfg.Log}); err != nil {
		return nil, fmt.Errorf("start IAM: %w", err)
	}
	rt.authz = authz.New(authz.Config{IAM: rt.iam, DB: rt.db, Secrets: secrets, Names: names, Log: cfg.Log})
	rt.sts = stssvc.New(stssvc.Config{IAM: rt.iam, DB: rt.db, Sealer: rt.seal, Names: names, Log: cfg.Log, Authorize: rt.authz.Allowed})
	// No build runs yet, so every session issued to a build is left over
	// from a runner that stopped without revoking it.
	if n, err := rt.db.DeleteTempCredentialsFrom(ctx, buildService); err != nil {
		return nil, err
	} else if n > 0 {
		cfg.Log.Info("revoked credentials of builds of the last run", "count", n)
	}
	rt.creds = newBuildCredentials(rt.sts, names, cfg.Log)
	s3.Authorize = rt.authorizeS3

	sources, err := sourcecache.Open(filepath.Join(dir, "sources"), sourcecache.Options{Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	rt.runner = runner.New(runner.Config{
		KillGrace:   killGrace,
		StateDir:    dir,
		WorkDir:     work,
		Names:       names,
		Store:       rt.db,
		Sandboxes:   hostSandboxes{host},
		Logs:        rt.logs,
		Objects:     objectFiles{db: rt.db, blobs: rt.blobs},
		Sources:     sources,
		Params:      roleParams{svc: params, authz: rt.authz},
		Secrets:     roleSecrets{svc: secrets, authz: rt.authz},
		Credentials: rt.creds,
		Minute:      cfg.Minute,
		Log:         cfg.Log,
	})
	overcommit := cfg.Overcommit
	if overcommit <= 0 {
		overcommit = DefaultOvercommit
	}
	hostRes := hostResources()
	rt.sched = scheduler.New(scheduler.Config{
		Runner:     rt.runner,
		Warmer:     rt.runner,
		MaxRunning: cfg.MaxRunning,
		Host:       hostRes,
		Capacity:   scheduler.Resources{CPU: hostRes.CPU * overcommit, MemoryBytes: int64(float64(hostRes.MemoryBytes) * overcommit)},
		Minute:     cfg.Minute,
		Log:        cfg.Log,
	})
	cfg.Log.Debug("on-demand capacity", "host_cpu", hostRes.CPU, "host_memory", hostRes.MemoryBytes, "overcommit", overcommit)
	cb := codebuild.New(codebuild.Config{DB: rt.db, Names: names, Scheduler: rt.sched, Log: cfg.Log})
	// The fleets must be known before recover submits their queued builds.
	if err := cb.LoadFleets(ctx); err != nil {
		return nil, err
	}

	rt.handler = awsapi.NewMux(cfg.Log, awsapi.Authenticate(keyStore{rt}, awsapi.WithAuthLogger(cfg.Log)))
	rt.handler.Authorize(rt.authz.Request)
	for _, svc := range []struct {
		name string
		api  func(func(string, []byte) *awsapi.Error) *awsapi.JSONService
	}{
		{"codebuild", cb.API},
		{"ssm", params.API},
		{"secretsmanager", secrets.API},
	} {
		v, err := awsapi.NewValidator(svc.name)
		if err != nil {
			return nil, fmt.Errorf("load the %s model: %w", svc.name, err)
		}
		rt.handler.HandleJSON(svc.api(v.Validate))
	}
	lv, err := awsapi.NewValidator("logs")
	if err != nil {
		return nil, fmt.Errorf("load the logs model: %w", err)
	}
	logsAPI := logsvc.New(rt.logs, names, cfg.Log)
	logsAPI.Validate = lv.Validate
	rt.handler.HandleJSON(logsAPI)
	rt.handler.HandleS3(s3)

	for _, api := range []func() (*awsapi.QueryService, error){rt.iam.API, rt.sts.API} {
		q, err := api()
		if err != nil {
			return nil, fmt.Errorf("start the Query APIs: %w", err)
		}
		rt.handler.HandleQuery(q)
	}
	ok = true
	return rt, nil
}

// s3ChunkVerifier hands the S3 service the ChunkVerifier Authenticate made
// for a signed aws-chunked request. No verifier is a nil interface, not a
// nil *awsapi.ChunkVerifier in one.
func s3ChunkVerifier(r *http.Request) (s3svc.ChunkVerifier, error) {
	v, ok := awsapi.ChunkVerifierFrom(r.Context())
	if !ok {
		return nil, nil
	}
	return v, nil
}

func (rt *runtime) close() {
	if rt.runner != nil {
		rt.runner.Close() // its warm machines, before the host goes
	}
	if rt.host != nil {
		rt.host.Close()
	}
	if rt.logs != nil {
		rt.logs.Close()
	}
	if rt.db != nil {
		rt.db.Close()
	}
}

// recover deals with builds the runner did not finish last time: builds
// still queued are queued again; builds that had started cannot be picked
// up (their processes died with the runner) and end FAULT.
func (rt *runtime) recover(ctx context.Context) error {
	rows, err := rt.db.OpenBuilds(ctx)
	if err != nil {
		return fmt.Errorf("list unfinished builds: %w", err)
	}
	for _, row := range rows {
		b := new(model.Build)
		if err := json.Unmarshal(row.Body, b); err != nil {
			return fmt.Errorf("decode build %s: %w", row.ID, err)
		}
		if b.CurrentPhase == model.PhaseQueued {
			if err := rt.sched.Submit(ctx, b); err != nil {
				return fmt.Errorf("queue build %s again: %w", b.ID, err)
			}
			continue
		}
		err := rt.runner.Fault(ctx, b, "RUNNER_RESTARTED", "The runner restarted while the build was running; its processes were stopped and it cannot be resumed.")
		if err != nil {
			return fmt.Errorf("end build %s: %w", b.ID, err)
		}
		rt.cfg.Log.Warn("build ended by a runner restart", "build", b.ID, "phase", b.CurrentPhase)
	}
	return nil
}

// keyStore verifies requests against the access keys in the store:
// temporary credentials (ASIA…) from STS, IAM users' keys, and the runner's
// own keys, which alone are admin.
type keyStore struct{ rt *runtime }

func (k keyStore) LookupAccessKey(ctx context.Context, id string) (awsapi.AccessKey, error) {
	if strings.HasPrefix(id, "ASIA") {
		return k.rt.sts.LookupAccessKey(ctx, id)
	}
	key, err := k.rt.iam.LookupAccessKey(ctx, id)
	if !errors.Is(err, awsapi.ErrUnknownAccessKey) {
		return key, err
	}
	rk, err := k.rt.db.IAMAccessKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (rk.UserID != "" || rk.Status != "Active") {
		return awsapi.AccessKey{}, fmt.Errorf("access key %s: %w", id, awsapi.ErrUnknownAccessKey)
	}
	if err != nil {
		return awsapi.AccessKey{}, fmt.Errorf("look up access key %s: %w", id, err)
	}
	secret, err := k.rt.seal.Open(rk.Secret)
	if err != nil {
		return awsapi.AccessKey{}, fmt.Errorf("unseal access key %s: %w", id, err)
	}
	names := model.Names{Region: k.rt.cfg.Region, Account: model.Account}
	return awsapi.AccessKey{
		SecretAccessKey: string(secret),
		Caller: awsapi.Caller{
			AccessKeyID: id,
			AccountID:   model.Account,
			UserName:    rk.UserName,
			ARN:         names.UserArn("/", rk.UserName),
			Admin:       true,
		},
	}, nil
}

// hostSandboxes starts builds in the host sandbox.
type hostSandboxes struct{ h *sandbox.Host }

func (s hostSandboxes) Start(ctx context.Context, spec sandbox.Spec) (runner.Shell, error) {
	sb, err := s.h.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	return sb, nil
}

func (s hostSandboxes) Prepare(ctx context.Context, id string, lim sandbox.Limits, user *sandbox.User) (*sandbox.Machine, error) {
	return s.h.Prepare(ctx, id, lim, user)
}

func (s hostSandboxes) Isolated() bool { return s.h.Isolated() }

// hostResources is this host's CPU cores and memory (zero memory where
// /proc/meminfo is missing: no memory cap then).
func hostResources() scheduler.Resources {
	r := scheduler.Resources{CPU: float64(goruntime.NumCPU())}
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return r
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					r.MemoryBytes = kb << 10
				}
			}
		}
	}
	return r
}

// objectFiles opens S3 objects for the runner, straight from the blob store.
type objectFiles struct {
	db    *store.DB
	blobs *blobstore.Store
}

func (o objectFiles) OpenObject(ctx context.Context, bucket, key string) (*os.File, error) {
	obj, err := o.db.Object(ctx, bucket, key)
	switch {
	case errors.Is(err, store.ErrNoSuchBucket):
		return nil, &runner.ObjectError{Code: "NoSuchBucket", Message: "The specified bucket does not exist"}
	case errors.Is(err, store.ErrNotFound):
		return nil, &runner.ObjectError{Code: "NoSuchKey", Message: "The specified key does not exist."}
	case err != nil:
		return nil, fmt.Errorf("look up s3://%s/%s: %w", bucket, key, err)
	}
	return o.blobs.Open(obj.Blob)
}

func (o objectFiles) BlobFile(ctx context.Context, bucket, key, sha256 string) (string, error) {
	obj, err := o.db.Object(ctx, bucket, key)
	if err != nil {
		return "", fmt.Errorf("look up s3://%s/%s: %w", bucket, key, err)
	}
	if obj.Blob != sha256 {
		return "", fmt.Errorf("s3://%s/%s does not hold the content %s", bucket, key, sha256)
	}
	return o.blobs.Path(obj.Blob)
}
