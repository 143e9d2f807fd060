package bootstrap

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/hangarci/hangar/internal/config"
)

const testAccount = "000000000000"

// loadConfig loads a hangar.yml with the given text, as on an amd64 runner,
// with no HANGAR_* variables.
func loadConfig(t *testing.T, yml string) *config.Config {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, config.FileName), []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{Dir: dir, Environ: []string{}, Arch: "amd64"})
	if err != nil {
		t.Fatalf("load config:\n%s\n%v", yml, err)
	}
	return cfg
}

func desired(t *testing.T, yml string) *Desired {
	t.Helper()
	d, err := NewDesired(loadConfig(t, yml), "")
	if err != nil {
		t.Fatalf("desired state of\n%s\n%v", yml, err)
	}
	return d
}

const fakeFleetArn = "arn:aws:codebuild:us-east-1:000000000000:fleet/demo-dev-fleet:5e0cbd8c-0000-4000-8000-000000000000"

// converged is what a runner returns once d has been applied, with the
// differences real ones have: policy documents URL-encoded and laid out
// differently, members bootstrap does not set filled in with defaults, and
// tags others added.
func converged(t *testing.T, d *Desired) *Observed {
	t.Helper()
	o := &Observed{Account: testAccount, BucketExists: true, Projects: map[string]*cbtypes.Project{}, Inline: map[string]string{}}
	o.Role = &iamtypes.Role{
		RoleName:                 aws.String(d.Role.Name),
		Arn:                      aws.String(d.RoleArn(testAccount)),
		Path:                     aws.String("/"),
		Description:              aws.String(d.Role.Description),
		AssumeRolePolicyDocument: aws.String(url.QueryEscape(reindent(t, d.Role.Trust))),
	}
	o.RoleTags = d.managedTags()
	for _, ip := range d.Role.Inline {
		o.Inline[ip.Name] = reindent(t, ip.Document)
	}
	o.Managed = append([]string(nil), d.Role.Managed...)

	fleetArn := ""
	if d.Fleet != nil {
		f, err := sdkFleet(d.Fleet, d.managedTags())
		if err != nil {
			t.Fatal(err)
		}
		f.Arn = aws.String(fakeFleetArn)
		f.Id = aws.String("5e0cbd8c-0000-4000-8000-000000000000")
		f.Status = &cbtypes.FleetStatus{StatusCode: cbtypes.FleetStatusCodeActive}
		f.Tags = append(f.Tags, cbtypes.Tag{Key: aws.String("team"), Value: aws.String("infra")})
		o.Fleet = f
		fleetArn = fakeFleetArn
	}
	for _, spec := range d.projects() {
		tags := d.managedTags()
		if spec == &d.Project {
			tags[TagBucket] = d.Bucket(testAccount)
			tags[TagState] = d.Hash()
		}
		tags["team"] = "infra"
		p, err := sdkProject(spec, d.RoleArn(testAccount), fleetArn, tags)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Unix(1700000000, 0)
		p.Arn = aws.String("arn:aws:codebuild:us-east-1:000000000000:project/" + spec.Name)
		p.Created, p.LastModified = &now, &now
		p.QueuedTimeoutInMinutes = aws.Int32(480)
		p.EncryptionKey = aws.String("arn:aws:kms:us-east-1:000000000000:alias/aws/s3")
		p.Source.InsecureSsl = aws.Bool(false)
		p.Badge = &cbtypes.ProjectBadge{BadgeEnabled: false}
		if p.TimeoutInMinutes == nil {
			p.TimeoutInMinutes = aws.Int32(60) // a runner's default
		}
		o.Projects[spec.Name] = p
	}
	return o
}

// reindent lays a JSON document out differently, as IAM may return it.
func reindent(t *testing.T, doc string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
