// Package codebuild serves the AWS CodeBuild API (CodeBuild_20161006.*):
// projects and builds. Builds are stored here and handed to a Scheduler that
// runs them.
package codebuild

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/store"
)

// Scheduler runs builds. The service stores a build before it submits it,
// and asks the scheduler to stop it.
type Scheduler interface {
	// Submit hands over a stored build that waits in QUEUED.
	Submit(ctx context.Context, b *model.Build) error
	// Stop stops a queued or running build and returns once the build is
	// complete (or ctx ends). Builds it does not know are left alone.
	Stop(ctx context.Context, id string) error
}

// Config configures the service.
type Config struct {
	DB        *store.DB
	Names     model.Names
	Scheduler Scheduler
	Log       *slog.Logger
	// Validate checks requests against the CodeBuild model; optional.
	Validate func(op string, body []byte) *awsapi.Error
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Service is the CodeBuild API.
type Service struct {
	db    *store.DB
	names model.Names
	sched Scheduler
	log   *slog.Logger
	now   func() time.Time

	// tokenMu serialises StartBuilds that carry an idempotency token, so two
	// identical requests cannot both create a build.
	tokenMu sync.Mutex
}

// New returns the service.
func New(cfg Config) *Service {
	s := &Service{db: cfg.DB, names: cfg.Names, sched: cfg.Scheduler, log: cfg.Log, now: cfg.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// API returns the JSON 1.1 service to mount on the router.
func (s *Service) API(validate func(op string, body []byte) *awsapi.Error) *awsapi.JSONService {
	api := &awsapi.JSONService{TargetPrefix: "CodeBuild_20161006", Validate: validate, Log: s.log}
	awsapi.Handle(api, "CreateProject", s.CreateProject)
	awsapi.Handle(api, "UpdateProject", s.UpdateProject)
	awsapi.Handle(api, "DeleteProject", s.DeleteProject)
	awsapi.Handle(api, "BatchGetProjects", s.BatchGetProjects)
	awsapi.Handle(api, "ListProjects", s.ListProjects)
	awsapi.Handle(api, "StartBuild", s.StartBuild)
	awsapi.Handle(api, "StopBuild", s.StopBuild)
	awsapi.Handle(api, "RetryBuild", s.RetryBuild)
	awsapi.Handle(api, "BatchGetBuilds", s.BatchGetBuilds)
	awsapi.Handle(api, "ListBuilds", s.ListBuilds)
	awsapi.Handle(api, "ListBuildsForProject", s.ListBuildsForProject)
	awsapi.Handle(api, "BatchDeleteBuilds", s.BatchDeleteBuilds)
	awsapi.Handle(api, "CreateFleet", s.CreateFleet)
	awsapi.Handle(api, "UpdateFleet", s.UpdateFleet)
	awsapi.Handle(api, "DeleteFleet", s.DeleteFleet)
	awsapi.Handle(api, "BatchGetFleets", s.BatchGetFleets)
	awsapi.Handle(api, "ListFleets", s.ListFleets)
	return api
}

func invalid(format string, a ...any) *awsapi.Error {
	return awsapi.Errorf("InvalidInputException", format, a...)
}

func notFound(format string, a ...any) *awsapi.Error {
	return awsapi.Errorf("ResourceNotFoundException", format, a...)
}

// pageSize is the most ids or names a List call returns, as on CodeBuild.
const pageSize = 100

// encodeToken and decodeToken make the opaque nextToken of List calls: an
// offset into the ordered result.
func encodeToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(offset)))
}

func decodeToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 2 || b[0] != 'o' {
		return 0, invalid("Invalid next token: %s", tok)
	}
	n, err := strconv.Atoi(string(b[1:]))
	if err != nil || n < 0 {
		return 0, invalid("Invalid next token: %s", tok)
	}
	return n, nil
}

// page turns a result fetched with one extra row into a page and a token.
func page(items []string, offset, size int) ([]string, string) {
	if len(items) > size {
		return items[:size], encodeToken(offset + size)
	}
	return items, ""
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func awsErr(code, format string, a ...any) *awsapi.Error { return awsapi.Errorf(code, format, a...) }
