package awsapi

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// awsEnv is the environment for the aws CLI and boto3: the given keys and
// nothing from the machine's own configuration.
func awsEnv(t *testing.T, id, secret string) []string {
	dir := t.TempDir()
	env := []string{
		"AWS_ACCESS_KEY_ID=" + id,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_PAGER=",
		"HOME=" + dir,
	}
	for _, k := range []string{"PATH", "PYENV_ROOT", "PYENV_VERSION", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

type cliResult struct {
	stdout, stderr string
	err            error
}

func runAWS(t *testing.T, env []string, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return cliResult{out.String(), errb.String(), err}
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed: %v", name, err)
	}
	return p
}

func TestAWSCLI(t *testing.T) {
	aws := needTool(t, "aws")
	srv := newTestServer(t, false)
	env := awsEnv(t, testKeyID, testSecret)
	ep := "--endpoint-url=" + srv.URL

	// Each aws CLI run costs seconds of Python start-up, so this test runs
	// few; boto3 (the same botocore) covers the rest in one process.
	r := runAWS(t, env, "", aws, "codebuild", "list-projects", ep)
	if r.err != nil || !strings.Contains(r.stdout, "caller-alice") {
		t.Fatalf("list-projects: %v\n%s\n%s", r.err, r.stdout, r.stderr)
	}
	r = runAWS(t, awsEnv(t, testKeyID, "wrong"), "", aws, "sts", "get-caller-identity", ep)
	if r.err == nil || !strings.Contains(r.stderr, "(SignatureDoesNotMatch)") {
		t.Fatalf("wrong secret: %v\n%s", r.err, r.stderr)
	}
	file := filepath.Join(t.TempDir(), "up.txt")
	content := strings.Repeat("uploaded by the aws cli\n", 1000)
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runAWS(t, env, "", aws, "s3", "cp", file, "s3://bkt/cli/up.txt", ep)
	if r.err != nil {
		t.Fatalf("s3 cp up: %v\n%s", r.err, r.stderr)
	}
	r = runAWS(t, env, "", aws, "s3", "cp", "s3://bkt/cli/up.txt", "-", ep)
	if r.err != nil || r.stdout != content {
		t.Fatalf("s3 cp down: %v (%d bytes)\n%s", r.err, len(r.stdout), r.stderr)
	}
	r = runAWS(t, env, "", aws, "s3", "presign", "s3://bkt/cli/up.txt", "--expires-in", "60", ep)
	if r.err != nil {
		t.Fatalf("s3 presign: %v\n%s", r.err, r.stderr)
	}
	url := strings.TrimSpace(r.stdout)
	get := func() (int, string) {
		resp, err := srv.Client().Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != 200 || body != content {
		t.Fatalf("GET %s: %d %.200s", url, code, body)
	}
	srv.clock.shift(2 * time.Minute)
	if code, body := get(); code != 403 || !strings.Contains(body, "Request has expired") {
		t.Fatalf("expired presigned GET: %d %s", code, body)
	}
}

// boto3 signs differently from the Go SDK in places (it does not sign
// content-length, encodes query strings itself, and S3 uses its own
// payload rules), so it gets its own run.
const boto3Script = `
import sys, boto3, botocore, urllib.request
from botocore.config import Config
ep = sys.argv[1]
cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
def client(name, secret=None):
    kw = {}
    if secret:
        kw = dict(aws_access_key_id=sys.argv[2], aws_secret_access_key=secret)
    return boto3.client(name, endpoint_url=ep, region_name="us-east-1", config=cfg, **kw)
def code(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"]
    return "no error"
print("projects", client("codebuild").list_projects()["projects"])
print("badsig", code(lambda: client("codebuild", "wrong").list_projects()).split("\n")[0])
print("logs", code(lambda: client("logs").create_log_group(logGroupName="bad name!")))
print("ssm", code(lambda: client("ssm").put_parameter(Name="/p", Value="v", Type="Nope")))
s3 = client("s3")
s3.put_object(Bucket="bkt", Key="boto/k ey+1", Body=b"from boto3" * 100)
print("get", s3.get_object(Bucket="bkt", Key="boto/k ey+1")["Body"].read() == b"from boto3" * 100)
u = s3.generate_presigned_url("get_object", Params={"Bucket": "bkt", "Key": "boto/k ey+1"}, ExpiresIn=60)
print("presigned", urllib.request.urlopen(u).read() == b"from boto3" * 100)
print("role", client("iam").create_role(RoleName="r1", AssumeRolePolicyDocument="{}", Tags=[{"Key": "k", "Value": "v"}])["Role"]["Tags"])
print("sts", client("sts").get_caller_identity()["Arn"])
print("unknown", code(lambda: boto3.client("sts", endpoint_url=ep, region_name="us-east-1", config=cfg,
    aws_access_key_id="AKIDUNKNOWN000000000", aws_secret_access_key="x").get_caller_identity()))
print("cb", code(lambda: client("codebuild").create_project(name="a$", source={"type": "NO_SOURCE", "buildspec": "x"}, artifacts={"type": "NO_ARTIFACTS"},
    environment={"type": "LINUX_CONTAINER", "image": "i", "computeType": "BUILD_GENERAL1_SMALL"}, serviceRole="r")))
print("iam", code(lambda: client("iam").create_role(RoleName="bad name", AssumeRolePolicyDocument="{}")))
`

func TestBoto3(t *testing.T) {
	py := needTool(t, "python3")
	srv := newTestServer(t, false)
	env := awsEnv(t, testKeyID, testSecret)
	r := runAWS(t, env, "", py, "-c", boto3Script, srv.URL, testKeyID)
	if r.err != nil {
		if strings.Contains(r.stderr, "No module named 'boto3'") {
			t.Skip("boto3 is not installed")
		}
		t.Fatalf("boto3: %v\n%s\n%s", r.err, r.stdout, r.stderr)
	}
	want := []string{
		"projects ['caller-alice']",
		"badsig InvalidSignatureException: " + msgSigMismatch,
		`logs InvalidParameterException: 1 validation error detected: Value 'bad name!' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`,
		"ssm ValidationException: 1 validation error detected: Value 'Nope' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [String, StringList, SecureString]",
		"get True",
		"presigned True",
		"role [{'Key': 'k', 'Value': 'v'}]",
		"sts arn:aws:iam::" + testAccountID + ":user/alice",
		"unknown InvalidClientTokenId: The security token included in the request is invalid.",
		`cb InvalidInputException: 1 validation error detected: Value 'a$' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9\-_]{1,149}`,
		`iam ValidationError: 1 validation error detected: Value 'bad name' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`,
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != len(want) {
		t.Fatalf("boto3 printed\n%s\nstderr\n%s", r.stdout, r.stderr)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d\n got %s\nwant %s", i, lines[i], want[i])
		}
	}
}
