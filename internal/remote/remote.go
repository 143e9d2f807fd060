// Package remote is the remote run: pack the working tree, upload it,
// StartBuild with an inline buildspec, follow the build's phases and log,
// and map its outcome to an exit code (DESIGN §3).
//
// It reaches the runner only through the AWS SDK (CodeBuild, S3, CloudWatch
// Logs), so the same code drives the embedded runner, a `hangar server` and
// AWS itself. The one difference is the upload: a Hangar runner takes a
// content-addressed upload (only the blobs it lacks, plus a manifest it
// assembles the tree from), AWS one zip archive.
package remote

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hangarci/hangar/internal/target"
)

// Client holds the SDK clients of one target.
type Client struct {
	CodeBuild *codebuild.Client
	S3        *s3.Client
	Logs      *cloudwatchlogs.Client
	// Hangar is true for a Hangar runner (content-addressed upload, fast
	// polling), false for AWS.
	Hangar bool
	Log    *slog.Logger
}

// New makes the clients for t.
func New(t *target.Target, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{CodeBuild: t.CodeBuild(), S3: t.S3(), Logs: t.Logs(), Hangar: t.Hangar(), Log: log}
}

// Poll is the polling schedule that suits the target.
func (c *Client) Poll() Poll {
	if c.Hangar {
		return HangarPoll()
	}
	return AWSPoll()
}

// Follower returns a follower of this target's builds.
func (c *Client) Follower() *Follower {
	return &Follower{Builds: c.CodeBuild, Logs: c.Logs, Poll: c.Poll(), Log: c.Log}
}
