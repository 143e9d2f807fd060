// Package target connects the CLI to a runner: the embedded one (started on
// demand in the background), a `hangar server`, or AWS itself. Whatever the
// target, the CLI gets the same AWS SDK clients; nothing else differs.
package target

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Kinds of target.
const (
	Embedded = "embedded"
	Server   = "server"
	AWS      = "aws"
)

// Options say which runner to reach.
type Options struct {
	Kind     string // Embedded, Server or AWS
	Endpoint string // the hangar server's URL (Server)
	Region   string
	// StateDir is the embedded runner's state dir (default: the user's).
	StateDir string
	// Binary is the hangar binary to start the embedded runner with
	// (default: this executable).
	Binary string
	// IdleTimeout is how long the embedded runner stays up with nothing to
	// do (default 15 minutes).
	IdleTimeout time.Duration
	Log         *slog.Logger
}

// Target is a reachable runner.
type Target struct {
	Kind     string
	Endpoint string // "" for AWS
	// CredentialsFile is the shared-credentials file of an embedded runner.
	CredentialsFile string
	Config          aws.Config
}

// Hangar reports whether the target is a Hangar runner (not AWS), which
// allows what only a Hangar runner offers, such as content-addressed
// source upload.
func (t *Target) Hangar() bool { return t.Kind != AWS }

// Open reaches the target, starting the embedded runner if it is not
// running.
func Open(ctx context.Context, opts Options) (*Target, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	t := &Target{Kind: opts.Kind}
	loads := []func(*config.LoadOptions) error{
		config.WithRegion(opts.Region),
	}
	switch opts.Kind {
	case Embedded, "":
		t.Kind = Embedded
		dir := opts.StateDir
		if dir == "" {
			var err error
			if dir, err = DefaultStateDir(); err != nil {
				return nil, err
			}
		}
		ep, err := ensureEmbedded(ctx, dir, opts)
		if err != nil {
			return nil, err
		}
		t.Endpoint = ep
		t.CredentialsFile = filepath.Join(dir, "credentials")
		// The embedded runner's own key, whatever the user's AWS setup
		// says, on loopback over http: nothing else of the AWS settings
		// applies. Building the config here skips LoadDefaultConfig, whose
		// reading of AWS_CA_BUNDLE alone costs ~10 ms on every run.
		sc, err := config.LoadSharedConfigProfile(ctx, "default", func(o *config.LoadSharedConfigOptions) {
			o.CredentialsFiles = []string{t.CredentialsFile}
			o.ConfigFiles = []string{}
		})
		if err != nil {
			return nil, fmt.Errorf("read the embedded runner's key: %w", err)
		}
		t.Config = aws.Config{
			Region:       opts.Region,
			Credentials:  aws.NewCredentialsCache(credentials.StaticCredentialsProvider{Value: sc.Credentials}),
			BaseEndpoint: aws.String(t.Endpoint),
			HTTPClient:   WrapHTTPClient(awshttp.NewBuildableClient()),
		}
		return t, nil
	case Server:
		if opts.Endpoint == "" {
			return nil, fmt.Errorf("target server needs an endpoint (endpoint: in hangar.yml or HANGAR_ENDPOINT)")
		}
		t.Endpoint = opts.Endpoint
	case AWS:
	default:
		return nil, fmt.Errorf("unknown target %q (embedded, server or aws)", opts.Kind)
	}
	if t.Endpoint != "" {
		loads = append(loads, config.WithBaseEndpoint(t.Endpoint))
		// A runner on loopback answers before the SDK's default client
		// timeouts matter; retries stay for transient errors.
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("load AWS settings: %w", err)
	}
	// Wrapped after loading: the SDK applies AWS_CA_BUNDLE only to the
	// client it builds itself (and fails on any other).
	cfg.HTTPClient = WrapHTTPClient(cfg.HTTPClient)
	t.Config = cfg
	return t, nil
}

// CodeBuild returns a CodeBuild client for the target.
func (t *Target) CodeBuild() *codebuild.Client { return codebuild.NewFromConfig(t.Config) }

// Logs returns a CloudWatch Logs client for the target.
func (t *Target) Logs() *cloudwatchlogs.Client { return cloudwatchlogs.NewFromConfig(t.Config) }

// SSM returns an SSM client for the target.
func (t *Target) SSM() *ssm.Client { return ssm.NewFromConfig(t.Config) }

// Secrets returns a Secrets Manager client for the target.
func (t *Target) Secrets() *secretsmanager.Client { return secretsmanager.NewFromConfig(t.Config) }

// IAM returns an IAM client for the target.
func (t *Target) IAM() *iam.Client { return iam.NewFromConfig(t.Config) }

// STS returns an STS client for the target.
func (t *Target) STS() *sts.Client { return sts.NewFromConfig(t.Config) }

// S3 returns an S3 client; a Hangar runner is addressed path-style.
func (t *Target) S3() *s3.Client {
	return s3.NewFromConfig(t.Config, func(o *s3.Options) { o.UsePathStyle = t.Hangar() })
}

// WrapHTTPClient returns c with the workaround below; every SDK client
// that talks to a runner on loopback needs it.
func WrapHTTPClient(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		// LoadDefaultConfig leaves it nil unless AWS settings (a CA bundle)
		// made it build one: the SDK's default client, as it would use.
		c = awshttp.NewBuildableClient()
	}
	return httpClient{c}
}

// httpClient works around a race in the SDK (aws/aws-sdk-go-v2#2737): the
// SDK closes a request body as soon as the response headers arrive; its
// body wrapper's WriteTo then returns io.EOF to the transport's final copy,
// and the transport closes the connection under the response being read.
// A runner on loopback wins that race often. Hiding WriteTo makes the
// transport use Read, whose EOF after Close is harmless.
type httpClient struct{ c aws.HTTPClient }

func (h httpClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return h.c.Do(r)
}

// DefaultStateDir is where the embedded runner keeps its state:
// $XDG_STATE_HOME/hangar, else ~/.local/state/hangar.
func DefaultStateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "hangar"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the state dir: %w", err)
	}
	return filepath.Join(home, ".local", "state", "hangar"), nil
}
