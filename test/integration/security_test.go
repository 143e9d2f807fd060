package integration

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/hangarci/hangar/internal/logstore"
)

// This file tries to get in where it should not, with real clients (the
// aws CLI, boto3, the Go SDK) from outside and from inside builds. Each
// attempt logs "attack: … -> …", the table of the security note.

func logAttack(t *testing.T, attack, answer string) {
	t.Helper()
	t.Logf("attack: %s -> %s", attack, firstLine(answer))
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// credsFile writes a shared-credentials file with one key.
func credsFile(t *testing.T, id, secret, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "credentials")
	body := "[default]\naws_access_key_id = " + id + "\naws_secret_access_key = " + secret + "\n"
	if token != "" {
		body += "aws_session_token = " + token + "\n"
	}
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return "AWS_SHARED_CREDENTIALS_FILE=" + p
}

// pyEnv runs a boto3 script against the runner with extra environment.
func pyEnv(r *Runner, env []string, script string) (string, string, int) {
	return runEnv(r, env, exec.Command(python3Command(), "-c", script))
}

// wantCLIError runs the aws CLI with env, which must fail with code.
func wantCLIError(t *testing.T, r *Runner, attack string, env []string, code, msg string, args ...string) {
	t.Helper()
	_, stderr, rc := awsEnv(r, env, args...)
	logAttack(t, attack+" (aws CLI "+strings.Join(args[:2], " ")+")", stderr)
	if rc == 0 || !strings.Contains(stderr, "("+code+")") || !strings.Contains(stderr, msg) {
		t.Errorf("%s: aws %s: exit %d, %s; want %s %q", attack, strings.Join(args, " "), rc, stderr, code, msg)
	}
}

// boto3Probe is a script calling one operation of each protocol and
// printing "<service> ok" or "<service> <ErrorCode>: <message>".
const boto3Probe = `
import boto3, botocore, datetime, os, sys
from botocore.config import Config
skew = int(os.environ.get("SKEW_MINUTES", "0"))
if skew:
    import botocore.auth
    real = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda remove_tzinfo=True: real(remove_tzinfo) + datetime.timedelta(minutes=skew)
cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"})
calls = [
    ("codebuild", lambda c: c.list_projects()),
    ("s3", lambda c: c.list_buckets()),
    ("iam", lambda c: c.list_users()),
    ("sts", lambda c: c.get_caller_identity()),
]
for name, call in calls:
    try:
        call(boto3.client(name, config=cfg))
        print(name, "ok")
    except botocore.exceptions.ClientError as e:
        print(name, e.response["Error"]["Code"] + ":", e.response["Error"].get("Message", "").split("\n")[0])
    except botocore.exceptions.NoCredentialsError as e:
        print(name, "NoCredentials:", e)
`

// TestSignedRequestsRealClients is item 1 with the aws CLI and boto3:
// right keys pass, wrong ones fail with each protocol's codes, presigned
// URLs work and expire.
func TestSignedRequestsRealClients(t *testing.T) {
	r := StartRunner(t)
	k := r.Key()
	cli(t, r, nil, "s3", "mb", "s3://sec-bucket")
	body := filepath.Join(t.TempDir(), "obj.txt")
	os.WriteFile(body, []byte("presigned body\n"), 0o644)
	cli(t, r, nil, "s3", "cp", body, "s3://sec-bucket/dir/obj.txt")

	t.Run("right key", func(t *testing.T) {
		for _, args := range [][]string{{"codebuild", "list-projects"}, {"s3api", "list-buckets"}, {"iam", "list-users"}, {"sts", "get-caller-identity"}} {
			out, stderr, rc := r.AWS(args...)
			logAttack(t, "runner's own key (aws CLI "+strings.Join(args, " ")+")", fmt.Sprintf("exit %d %s", rc, firstLine(strings.Join(strings.Fields(out+stderr), " "))))
			if rc != 0 {
				t.Errorf("aws %v: %s", args, stderr)
			}
		}
		out, stderr, rc := r.Python(boto3Probe)
		logAttack(t, "runner's own key (boto3)", strings.ReplaceAll(strings.TrimSpace(out), "\n", "; "))
		if rc != 0 || strings.Count(out, " ok") != 4 {
			t.Errorf("boto3 with the right key: %s %s", out, stderr)
		}
	})

	unknown := []string{credsFile(t, "AKIAUNKNOWNUNKNOWN00", k.Secret, "")}
	wrong := []string{credsFile(t, k.ID, altered(k.Secret), "")}
	t.Run("unknown key", func(t *testing.T) {
		wantCLIError(t, r, "unknown access key id", unknown, "UnrecognizedClientException", "The security token included in the request is invalid.", "codebuild", "list-projects")
		wantCLIError(t, r, "unknown access key id", unknown, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", "s3api", "list-buckets")
		wantCLIError(t, r, "unknown access key id", unknown, "InvalidClientTokenId", "The security token included in the request is invalid.", "iam", "list-users")
		wantCLIError(t, r, "unknown access key id", unknown, "InvalidClientTokenId", "The security token included in the request is invalid.", "sts", "get-caller-identity")
		out, _, _ := pyEnv(r, unknown, boto3Probe)
		logAttack(t, "unknown access key id (boto3)", strings.ReplaceAll(strings.TrimSpace(out), "\n", "; "))
		for _, want := range []string{"codebuild UnrecognizedClientException", "s3 InvalidAccessKeyId", "iam InvalidClientTokenId", "sts InvalidClientTokenId"} {
			if !strings.Contains(out, want) {
				t.Errorf("boto3 with an unknown key: %s; want %s", out, want)
			}
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		wantCLIError(t, r, "wrong secret", wrong, "InvalidSignatureException", "The request signature we calculated does not match", "codebuild", "list-projects")
		wantCLIError(t, r, "wrong secret", wrong, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.", "s3api", "list-buckets")
		wantCLIError(t, r, "wrong secret", wrong, "SignatureDoesNotMatch", "The request signature we calculated does not match", "iam", "list-users")
		out, _, _ := pyEnv(r, wrong, boto3Probe)
		logAttack(t, "wrong secret (boto3)", strings.ReplaceAll(strings.TrimSpace(out), "\n", "; "))
		for _, want := range []string{"codebuild InvalidSignatureException", "s3 SignatureDoesNotMatch", "iam SignatureDoesNotMatch", "sts SignatureDoesNotMatch"} {
			if !strings.Contains(out, want) {
				t.Errorf("boto3 with a wrong secret: %s; want %s", out, want)
			}
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		for _, c := range []struct{ code, msg, svc, op string }{
			{"MissingAuthenticationTokenException", "Missing Authentication Token", "codebuild", "list-projects"},
			{"AccessDenied", "Access Denied", "s3api", "list-buckets"},
			{"MissingAuthenticationToken", "Request is missing Authentication Token", "iam", "list-users"},
		} {
			wantCLIError(t, r, "unsigned request (--no-sign-request)", nil, c.code, c.msg, "--no-sign-request", c.svc, c.op)
		}
	})
	t.Run("only the health check is open", func(t *testing.T) {
		// Raw requests without a signature (or with a broken one) to every
		// kind of route: only the health check answers; nothing changes.
		jsonHdr := JSONHeader("CodeBuild_20161006.ListProjects")
		now := time.Now().UTC()
		forged := withAuth(jsonHdr, "AWS4-HMAC-SHA256 Credential="+k.ID+"/"+now.Format("20060102")+"/us-east-1/codebuild/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("0", 64))
		forged.Set("X-Amz-Date", now.Format("20060102T150405Z"))
		formHdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		// The aws CLI v1 presigns with Signature Version 2, boto3 (told
		// s3v4) with version 4: each with its signature cut off.
		noSig := func(u string) string {
			pu, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			q := pu.Query()
			q.Del("Signature")
			q.Del("X-Amz-Signature")
			return pu.Path + "?" + q.Encode()
		}
		v2, v4 := noSig(presignedURL(t, r, "aws CLI", "sec-bucket", "dir/obj.txt", 60)), noSig(presignedURL(t, r, "boto3", "sec-bucket", "dir/obj.txt", 60))
		for _, c := range []struct {
			name, method, path string
			header             http.Header
			body               string
			status             int
			code               string // "" for the health check's 200
		}{
			{"health check (GET)", "GET", "/_hangar/health", nil, "", 200, ""},
			{"health check (HEAD)", "HEAD", "/_hangar/health", nil, "", 200, ""},
			{"POST to the health check", "POST", "/_hangar/health", nil, "x", 403, "AccessDenied"},
			{"unsigned S3 GET of an object", "GET", "/sec-bucket/dir/obj.txt", nil, "", 403, "AccessDenied"},
			{"unsigned S3 PUT", "PUT", "/sec-bucket/unsigned.txt", nil, "x", 403, "AccessDenied"},
			{"unsigned S3 DELETE", "DELETE", "/sec-bucket/dir/obj.txt", nil, "", 403, "AccessDenied"},
			{"unsigned IAM Query GET", "GET", "/?Action=CreateUser&UserName=intruder&Version=2010-05-08", nil, "", 403, "MissingAuthenticationToken"},
			{"unsigned IAM Query POST", "POST", "/", formHdr, "Action=CreateUser&UserName=intruder&Version=2010-05-08", 403, "MissingAuthenticationToken"},
			{"unsigned JSON (CodeBuild)", "POST", "/", jsonHdr, "{}", 400, "MissingAuthenticationTokenException"},
			{"JSON with the runner's key id and a made-up signature", "POST", "/", forged, "{}", 400, "InvalidSignatureException"},
			{"Signature Version 2 header (AWS id:sig)", "GET", "/sec-bucket/dir/obj.txt", withAuth(nil, "AWS "+k.ID+":c2lnbmF0dXJl"), "", 400, "InvalidRequest"},
			{"aws CLI presigned URL (version 2) without its Signature", "GET", v2, nil, "", 403, "AccessDenied"},
			{"boto3 presigned URL (version 4) without its X-Amz-Signature", "GET", v4, nil, "", 400, "AuthorizationQueryParametersError"},
			{"credentials endpoint without a token", "GET", "/_hangar/credentials/00000000-0000-4000-8000-000000000000", nil, "", 403, "AccessDenied"},
			{"another /_hangar/ path", "GET", "/_hangar/state", nil, "", 403, "AccessDenied"},
		} {
			raw := r.Do(nil, "", c.method, c.path, c.header, []byte(c.body))
			code := xmlCode(string(raw.Body))
			if c.header.Get("X-Amz-Target") != "" {
				code = string(raw.Body)
			}
			logAttack(t, c.name+" ("+c.method+" "+firstLine(c.path[:min(len(c.path), 60)])+")", fmt.Sprintf("%d %s", raw.Status, firstLine(code)))
			if raw.Status != c.status || c.code != "" && !strings.Contains(string(raw.Body), c.code) {
				t.Errorf("%s: %d %s; want %d %s", c.name, raw.Status, raw.Body, c.status, c.code)
			}
		}
		if _, err := r.IAM().GetUser(context.Background(), &iam.GetUserInput{UserName: aws.String("intruder")}); err == nil {
			t.Error("an unsigned request made a user")
		}
		if out, _, rc := r.AWS("s3api", "list-objects-v2", "--bucket", "sec-bucket", "--query", "Contents[].Key", "--output", "text"); rc != 0 || strings.TrimSpace(out) != "dir/obj.txt" {
			t.Errorf("the bucket after unsigned writes: %q", out)
		}
	})
	t.Run("skewed clock", func(t *testing.T) {
		for _, skew := range []string{"20", "-20"} {
			out, _, _ := pyEnv(r, []string{"SKEW_MINUTES=" + skew}, boto3Probe)
			logAttack(t, "client clock "+skew+" minutes off (boto3)", strings.ReplaceAll(strings.TrimSpace(out), "\n", "; "))
			for _, want := range []string{"codebuild InvalidSignatureException: Signature", "s3 RequestTimeTooSkewed: The difference between the request time and the current time is too large.", "iam SignatureDoesNotMatch: Signature", "sts SignatureDoesNotMatch: Signature"} {
				if !strings.Contains(out, want) {
					t.Errorf("boto3 %s minutes off: %s; want %s", skew, out, want)
				}
			}
		}
	})
	t.Run("session token", func(t *testing.T) {
		// A real role session, then its token tampered with, then revoked.
		roleArn := r.CreateBuildRole("assumable", "")
		_, err := r.IAM().UpdateAssumeRolePolicy(context.Background(), &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("assumable"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		var as struct {
			Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
		}
		cli(t, r, &as, "sts", "assume-role", "--role-arn", roleArn, "--role-session-name", "probe")
		c := as.Credentials
		ok := []string{credsFile(t, c.AccessKeyId, c.SecretAccessKey, c.SessionToken)}
		out, stderr, rc := awsEnv(r, ok, "sts", "get-caller-identity")
		if rc != 0 || !strings.Contains(out, "assumed-role/assumable/probe") {
			t.Fatalf("the session itself: %s %s", out, stderr)
		}
		bad := []string{credsFile(t, c.AccessKeyId, c.SecretAccessKey, altered(c.SessionToken))}
		wantCLIError(t, r, "tampered session token", bad, "UnrecognizedClientException", "The security token included in the request is invalid.", "codebuild", "list-projects")
		wantCLIError(t, r, "tampered session token", bad, "InvalidToken", "The provided token is malformed or otherwise invalid.", "s3api", "list-buckets")
		wantCLIError(t, r, "tampered session token", bad, "InvalidClientTokenId", "The security token included in the request is invalid.", "sts", "get-caller-identity")
		nothing := []string{credsFile(t, c.AccessKeyId, c.SecretAccessKey, "")}
		wantCLIError(t, r, "session key without its token", nothing, "UnrecognizedClientException", "The security token included in the request is invalid.", "codebuild", "list-projects")
	})
	t.Run("presigned", func(t *testing.T) {
		get := func(u string) (int, string) {
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		for _, client := range []string{"aws CLI", "boto3"} {
			presign := func(expires int) string { return presignedURL(t, r, client, "sec-bucket", "dir/obj.txt", expires) }
			u := presign(60)
			code, b := get(u)
			logAttack(t, "presigned GET within its time ("+client+")", fmt.Sprintf("%d %s", code, b))
			if code != 200 || b != "presigned body\n" {
				t.Errorf("%s presigned GET: %d %s", client, code, b)
			}
			code, b = get(strings.Replace(u, "dir/obj.txt", "dir/other.txt", 1))
			logAttack(t, "presigned URL pointed at another key ("+client+")", fmt.Sprintf("%d %s", code, xmlCode(b)))
			if code != 403 || !strings.Contains(b, "<Code>SignatureDoesNotMatch</Code>") {
				t.Errorf("%s presigned URL for another key: %d %s", client, code, b)
			}
			u = presign(1)
			time.Sleep(2100 * time.Millisecond)
			code, b = get(u)
			logAttack(t, "presigned GET after --expires-in 1 ("+client+")", fmt.Sprintf("%d %s", code, xmlCode(b)))
			if code != 403 || !strings.Contains(b, "<Code>AccessDenied</Code>") || !strings.Contains(b, "<Message>Request has expired</Message>") {
				t.Errorf("%s expired presigned GET: %d %s", client, code, b)
			}
		}
	})
}

// presignedURL is a presigned GET of bucket/key made by client ("aws
// CLI": `aws s3 presign`; "boto3": generate_presigned_url, version 4).
func presignedURL(t *testing.T, r *Runner, client, bucket, key string, expires int) string {
	t.Helper()
	if client == "aws CLI" {
		out, stderr, rc := r.AWS("s3", "presign", "s3://"+bucket+"/"+key, "--expires-in", fmt.Sprint(expires))
		if rc != 0 {
			t.Fatalf("presign: %s", stderr)
		}
		return strings.TrimSpace(out)
	}
	out, stderr, rc := r.Python(fmt.Sprintf(`import boto3
from botocore.config import Config
s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
print(s3.generate_presigned_url("get_object", Params={"Bucket": %q, "Key": %q}, ExpiresIn=%d))`, bucket, key, expires))
	if rc != 0 {
		t.Fatalf("boto3 presign: %s", stderr)
	}
	return strings.TrimSpace(out)
}

// withAuth is h (copied) with an Authorization header.
func withAuth(h http.Header, authz string) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	out.Set("Authorization", authz)
	return out
}

// apiErrString is an SDK error as "status Code: Message".
func apiErrString(err error) string {
	var ae smithy.APIError
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &ae) || !errors.As(err, &re) {
		return fmt.Sprint(err)
	}
	return fmt.Sprintf("%d %s: %s", re.HTTPStatusCode(), ae.ErrorCode(), ae.ErrorMessage())
}

// xmlCode is "Code: Message" of an S3 error body.
func xmlCode(b string) string {
	code := regexp.MustCompile(`<Code>([^<]*)</Code>`).FindStringSubmatch(b)
	msg := regexp.MustCompile(`<Message>([^<]*)</Message>`).FindStringSubmatch(b)
	if code == nil || msg == nil {
		return b
	}
	return code[1] + ": " + msg[1]
}

// userKey makes an IAM user with an inline policy (none when empty) and an
// access key, and returns the credentials-file env for it.
func userKey(t *testing.T, r *Runner, name, policy string) []string {
	t.Helper()
	ctx := context.Background()
	c := r.IAM()
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if policy != "" {
		if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return []string{credsFile(t, aws.ToString(out.AccessKey.AccessKeyId), aws.ToString(out.AccessKey.SecretAccessKey), "")}
}

// TestAuthorizationRealClients is item 3 from outside: IAM users get what
// their policies allow and AWS's AccessDenied shape otherwise, in each
// protocol; the usual escalation paths are closed.
func TestAuthorizationRealClients(t *testing.T) {
	r := StartRunner(t)
	ctx := context.Background()
	cli(t, r, nil, "s3", "mb", "s3://team-bucket")
	if _, err := r.SSM().PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/prod/db"), Value: aws.String("prod-pw"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	dev := userKey(t, r, "dev", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["ssm:Get*","ssm:Describe*","codebuild:List*","codebuild:BatchGet*"],"Resource":"*"},
		{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::team-bucket/${aws:username}/*"},
		{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::*:user/${aws:username}"},
		{"Effect":"Deny","Action":"ssm:*","Resource":"arn:aws:ssm:*:*:parameter/prod/*"}]}`)
	user := "arn:aws:iam::000000000000:user/dev"

	out, stderr, rc := awsEnv(r, dev, "codebuild", "list-projects")
	logAttack(t, "IAM user, allowed action (codebuild list-projects)", fmt.Sprintf("exit %d %s", rc, firstLine(strings.Join(strings.Fields(out+stderr), " "))))
	if rc != 0 {
		t.Errorf("allowed call refused: %s", stderr)
	}
	wantCLIError(t, r, "IAM user, action no policy allows", dev, "AccessDeniedException",
		"User: "+user+" is not authorized to perform: codebuild:CreateProject on resource: arn:aws:codebuild:us-east-1:000000000000:project/pp because no identity-based policy allows the codebuild:CreateProject action",
		"codebuild", "create-project", "--name", "pp", "--source", "type=NO_SOURCE,buildspec=x", "--artifacts", "type=NO_ARTIFACTS",
		"--environment", "type=LINUX_CONTAINER,image=x,computeType=BUILD_GENERAL1_SMALL", "--service-role", "hangar-test")
	wantCLIError(t, r, "IAM user, explicitly denied parameter", dev, "AccessDeniedException",
		"User: "+user+" is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:us-east-1:000000000000:parameter/prod/db with an explicit deny in an identity-based policy",
		"ssm", "get-parameter", "--name", "/prod/db", "--with-decryption")
	wantCLIError(t, r, "IAM user, another user's S3 prefix", dev, "AccessDenied",
		`User: `+user+` is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::team-bucket/ops/x" because no identity-based policy allows the s3:GetObject action`,
		"s3api", "get-object", "--bucket", "team-bucket", "--key", "ops/x", filepath.Join(t.TempDir(), "out"))
	wantCLIError(t, r, "IAM user, create a role (Query protocol)", dev, "AccessDenied",
		"User: "+user+" is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::000000000000:role/admin because no identity-based policy allows the iam:CreateRole action",
		"iam", "create-role", "--role-name", "admin", "--assume-role-policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`)
	wantCLIError(t, r, "IAM user attaches AdministratorAccess to itself", dev, "AccessDenied",
		"is not authorized to perform: iam:AttachUserPolicy on resource: "+user,
		"iam", "attach-user-policy", "--user-name", "dev", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess")
	wantCLIError(t, r, "IAM user makes a key for another user", dev, "AccessDenied",
		"is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::000000000000:user/ops",
		"iam", "create-access-key", "--user-name", "ops")
	wantCLIError(t, r, "IAM user makes a key for the runner's admin user", dev, "AccessDenied",
		"is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::000000000000:user/hangar",
		"iam", "create-access-key", "--user-name", "hangar")
	wantCLIError(t, r, "IAM user assumes a role that trusts the account", dev, "AccessDenied",
		"is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/hangar-test",
		"sts", "assume-role", "--role-arn", "arn:aws:iam::000000000000:role/hangar-test", "--role-session-name", "xx")
	wantCLIError(t, r, "admin attaches an AWS managed policy that does not exist", nil, "NoSuchEntity",
		"Policy arn:aws:iam::aws:policy/AdministratorAccessPlus does not exist or is not attachable.",
		"iam", "attach-user-policy", "--user-name", "dev", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccessPlus")
	out, stderr, rc = awsEnv(r, dev, "iam", "create-access-key")
	logAttack(t, "IAM user makes a key for itself (policy allows ${aws:username})", fmt.Sprintf("exit %d %s", rc, firstLine(stderr)))
	if rc != 0 {
		t.Errorf("own access key: %s", stderr)
	}

	// Smuggling: what is authorised is what the routed service runs.
	kdev := strings.TrimPrefix(dev[0], "AWS_SHARED_CREDENTIALS_FILE=")
	devKey := readKey(t, kdev)
	raw := r.Do(&devKey, "ssm", http.MethodPost, "/", JSONHeader("CodeBuild_20161006.DeleteProject"), []byte(`{"name":"x"}`))
	logAttack(t, "JSON target of CodeBuild signed for ssm (user allowed ssm:Get*)", fmt.Sprintf("%d %s", raw.Status, raw.Body))
	if raw.Status != 400 || !bytes.Contains(raw.Body, []byte("codebuild:DeleteProject")) {
		t.Errorf("cross-service target: %d %s", raw.Status, raw.Body)
	}
	raw = r.Do(&devKey, "ssm", http.MethodPost, "/", JSONHeader("AmazonSSM.GetParameter"), []byte(`{"Name":"/dev/ok","name":"/prod/db","WithDecryption":true}`))
	logAttack(t, `duplicate JSON member in another case ({"Name":"/dev/ok","name":"/prod/db"})`, fmt.Sprintf("%d %s", raw.Status, raw.Body))
	if raw.Status != 400 || !bytes.Contains(raw.Body, []byte("parameter/prod/db with an explicit deny")) {
		t.Errorf("smuggled member: %d %s", raw.Status, raw.Body)
	}
	form := "Action=ListUsers&Version=2010-05-08"
	raw = r.Do(&devKey, "iam", http.MethodPost, "/?Action=CreateUser&UserName=evil", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte(form))
	logAttack(t, "Query Action in the body (ListUsers) and another in the URL (CreateUser)", fmt.Sprintf("%d %s", raw.Status, xmlCode(string(raw.Body))))
	if _, err := r.IAM().GetUser(ctx, &iam.GetUserInput{UserName: aws.String("evil")}); err == nil {
		t.Error("the URL's Action ran")
	}

	// PassRole: codebuild:* alone cannot hand a project a powerful role.
	builder := userKey(t, r, "builder", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codebuild:*","Resource":"*"}]}`)
	wantCLIError(t, r, "codebuild:* user makes a project with an admin role (no iam:PassRole)", builder, "AccessDeniedException",
		"is not authorized to perform: iam:PassRole on resource: arn:aws:iam::000000000000:role/hangar-test",
		"codebuild", "create-project", "--name", "p2", "--source", "type=NO_SOURCE,buildspec=x", "--artifacts", "type=NO_ARTIFACTS",
		"--environment", "type=LINUX_CONTAINER,image=x,computeType=BUILD_GENERAL1_SMALL", "--service-role", "hangar-test")

	// boto3 sees the same shapes.
	out, _, _ = pyEnv(r, dev, `
import boto3, botocore
from botocore.config import Config
cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
for name, call in [("ssm", lambda: boto3.client("ssm", config=cfg).get_parameter(Name="/prod/db")),
                   ("s3", lambda: boto3.client("s3", config=cfg).put_object(Bucket="team-bucket", Key="ops/x", Body=b"x")),
                   ("iam", lambda: boto3.client("iam", config=cfg).delete_role(RoleName="hangar-test")),
                   ("own-prefix", lambda: boto3.client("s3", config=cfg).put_object(Bucket="team-bucket", Key="dev/x", Body=b"x"))]:
    try:
        call(); print(name, "ok")
    except botocore.exceptions.ClientError as e:
        print(name, e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
`)
	logAttack(t, "IAM user denied calls (boto3)", strings.ReplaceAll(strings.TrimSpace(out), "\n", "; "))
	for _, want := range []string{"ssm AccessDeniedException 400", "s3 AccessDenied 403", "iam AccessDenied 403", "own-prefix ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("boto3: %s; want %s", out, want)
		}
	}

	// DeleteObjects: refused keys are reported per key, as S3 does.
	cli(t, r, nil, "s3", "cp", filepath.Join("testdata", "sdkprobe", "main.go"), "s3://team-bucket/ops/keep")
	out, stderr, _ = awsEnv(r, dev, "s3api", "delete-objects", "--bucket", "team-bucket", "--delete", `{"Objects":[{"Key":"ops/keep"},{"Key":"dev/x"}]}`)
	logAttack(t, "DeleteObjects of an allowed and a forbidden key", firstLine(strings.Join(strings.Fields(out+stderr), " ")))
	if !strings.Contains(out, `"Code": "AccessDenied"`) || !strings.Contains(out, `"Key": "ops/keep"`) || !regexp.MustCompile(`"Deleted": \[\s*\{\s*"Key": "dev/x"`).MatchString(out) {
		t.Errorf("delete-objects: %s %s", out, stderr)
	}
	if _, err := r.S3().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("team-bucket"), Key: aws.String("ops/keep")}); err != nil {
		t.Errorf("a forbidden key was deleted: %v", err)
	}

	// Neither the users' secrets nor a parameter's value reach the
	// runner's log, which logs every refusal at debug level.
	builderKey := readKey(t, strings.TrimPrefix(builder[0], "AWS_SHARED_CREDENTIALS_FILE="))
	for _, v := range []string{devKey.Secret, builderKey.Secret, "prod-pw"} {
		if strings.Contains(r.Log(), v) {
			t.Errorf("the runner's log holds the secret %q", v)
		}
	}
	logAttack(t, "the runner's own log (debug) searched for the users' secret keys and the parameter's value", "none found")
}

// readKey reads a credentials file written by credsFile.
func readKey(t *testing.T, path string) Key {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var k Key
	for _, line := range strings.Split(string(b), "\n") {
		name, v, _ := strings.Cut(line, "=")
		switch strings.TrimSpace(name) {
		case "aws_access_key_id":
			k.ID = strings.TrimSpace(v)
		case "aws_secret_access_key":
			k.Secret = strings.TrimSpace(v)
		}
	}
	return k
}

// secProject makes a NO_SOURCE project with role (a name) and env.
func secProject(t *testing.T, r *Runner, name, role, spec string, env []types.EnvironmentVariable, envType types.EnvironmentType, compute types.ComputeType) {
	t.Helper()
	if envType == "" {
		envType, compute = types.EnvironmentTypeLinuxContainer, types.ComputeTypeBuildGeneral1Small
	}
	_, err := r.CodeBuild().CreateProject(context.Background(), &codebuild.CreateProjectInput{
		Name:      aws.String(name),
		Source:    &types.ProjectSource{Type: types.SourceTypeNoSource, Buildspec: aws.String(spec)},
		Artifacts: &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts},
		Environment: &types.ProjectEnvironment{Type: envType, ComputeType: compute,
			Image: aws.String("aws/codebuild/amazonlinux2-x86_64-standard:5.0"), EnvironmentVariables: env},
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/" + role),
	})
	if err != nil {
		t.Fatalf("create project %s: %v", name, err)
	}
}

// secRun starts a build of project and waits for it; it returns the
// build and its log.
func secRun(t *testing.T, r *Runner, project string) (types.Build, []string) {
	t.Helper()
	out, err := r.CodeBuild().StartBuild(context.Background(), &codebuild.StartBuildInput{ProjectName: aws.String(project)})
	if err != nil {
		t.Fatalf("start build: %v", err)
	}
	b := WaitBuild(t, r.CodeBuild(), aws.ToString(out.Build.Id), 90*time.Second)
	return b, BuildLog(t, r, b)
}

// phaseContext returns "PHASE STATUS: code: message" of the failed phase.
func phaseContext(b types.Build) string {
	for _, p := range b.Phases {
		if p.PhaseStatus != "" && p.PhaseStatus != types.StatusTypeSucceeded && len(p.Contexts) > 0 {
			return fmt.Sprintf("%s %s: %s: %s", p.PhaseType, p.PhaseStatus, aws.ToString(p.Contexts[0].StatusCode), aws.ToString(p.Contexts[0].Message))
		}
	}
	return string(b.BuildStatus)
}

// secLogValue finds "prefix…" in a log and returns the rest: the first
// non-empty one (the aws CLI starts its errors with an empty line).
func secLogValue(log []string, prefix string) (string, bool) {
	found := false
	for _, l := range log {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			if v != "" {
				return v, true
			}
			found = true
		}
	}
	return "", found
}

// TestBuildCredentials is item 4: builds act as their project's role,
// through the container credentials endpoint, with the aws CLI and the SDKs
// inside; variables are resolved with the role's rights; the credentials
// are masked and die with the build.
func TestBuildCredentials(t *testing.T) {
	r := bsStartRunner(t)
	ctx := context.Background()
	if _, err := r.SSM().PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/token"), Value: aws.String("t0k3n-value-99"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Secrets().CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("app/key"), SecretString: aws.String("k3y-value-77")}); err != nil {
		t.Fatal(err)
	}
	r.CreateBuildRole("reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:GetParameter","ssm:GetParameters"],"Resource":"arn:aws:ssm:*:*:parameter/app/*"}]}`)
	r.CreateBuildRole("bare", "")
	// A role with only an AWS managed policy (the one hangar bootstrap's
	// defaults attach), and one whose Deny beats its Allow.
	r.CreateBuildRole("managed-reader", "")
	if _, err := r.IAM().AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("managed-reader"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	r.CreateBuildRole("deny-wins", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:*","secretsmanager:*"],"Resource":"*"},
		{"Effect":"Deny","Action":"ssm:GetParameter*","Resource":"arn:aws:ssm:*:*:parameter/app/token"}]}`)
	// Secret values the runner's own log must never hold.
	neverLogged := []string{"t0k3n-value-99", "k3y-value-77"}
	t.Cleanup(func() {
		log := r.Log()
		for _, v := range neverLogged {
			if v != "" && strings.Contains(log, v) {
				t.Errorf("the runner's log holds the secret value %q", v)
			}
		}
		logAttack(t, "the runner's own log (debug level) searched for every value and credential of this test", fmt.Sprintf("none of %d found", len(neverLogged)))
	})
	probeDir, err := os.MkdirTemp("/var/tmp", "hangar-probe-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(probeDir) })
	probe := filepath.Join(probeDir, "sdkprobe")
	if out, err := exec.Command("go", "build", "-o", probe, "./testdata/sdkprobe").CombinedOutput(); err != nil {
		t.Fatalf("build the SDK probe: %v\n%s", err, out)
	}
	os.Chmod(probeDir, 0o755)

	spec := `version: 0.2
phases:
  build:
    commands:
      - aws sts get-caller-identity --query Arn --output text | sed 's/^/cli-arn=/'
      - v=$(aws ssm get-parameter --name /app/token --with-decryption --query Parameter.Value --output text 2>&1); echo "cli-get=$(printf %s "$v" | base64 -w0) rc=$?"
      - bash -c 'aws ssm get-parameter --name /app/token' 2>&1 | sed 's/^/cli-err=/' || true
      - PROBE /app/token
      - echo "id=$(python3 -c 'import os,json,urllib.request as u;print(json.load(u.urlopen(u.Request(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"],headers={"Authorization":os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})))["AccessKeyId"])')"
      - echo "token=$AWS_CONTAINER_AUTHORIZATION_TOKEN"
      - echo "no-token=$(curl -s -o /dev/null -w '%{http_code}' "$AWS_CONTAINER_CREDENTIALS_FULL_URI")"
      - echo "other-path=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization:$AWS_CONTAINER_AUTHORIZATION_TOKEN" "${AWS_CONTAINER_CREDENTIALS_FULL_URI%/*}/00000000-0000-4000-8000-000000000000")"
      - echo "traversal=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is -H "Authorization:$AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI/../x")"
`
	spec = strings.Replace(spec, "PROBE", probe, 1)

	t.Run("role allows", func(t *testing.T) {
		secProject(t, r, "role-allows", "reader", spec, nil, "", "")
		b, log := secRun(t, r, "role-allows")
		if b.BuildStatus != types.StatusTypeSucceeded {
			t.Fatalf("build %s: %s\n%s", b.BuildStatus, phaseContext(b), strings.Join(log, "\n"))
		}
		arn, _ := secLogValue(log, "cli-arn=")
		logAttack(t, "aws CLI inside a build: sts get-caller-identity", arn)
		if !regexp.MustCompile(`^arn:aws:sts::000000000000:assumed-role/reader/AWSCodeBuild-[0-9a-f-]{36}$`).MatchString(arn) {
			t.Errorf("the build's identity: %q", arn)
		}
		got, _ := secLogValue(log, "cli-get=")
		logAttack(t, "aws CLI inside a build: ssm get-parameter, role allows it", "value (base64) "+got)
		if got != bsB64("t0k3n-value-99")+" rc=0" {
			t.Errorf("get-parameter with the role's rights: %q", got)
		}
		if p, _ := secLogValue(log, "probe: arn "); !strings.Contains(p, "assumed-role/reader/AWSCodeBuild-") {
			t.Errorf("Go SDK default config inside the build: %q\n%s", p, strings.Join(log, "\n"))
		}
		if n, _ := secLogValue(log, "probe: parameter length "); n != "14" {
			t.Errorf("Go SDK get-parameter: %q", n)
		}
		logAttack(t, "Go SDK default config inside a build (AWS_ENDPOINT_URL + container credentials)", "ok: "+firstLine(strings.Join(grepLog(log, "probe: "), "; ")))
		for _, l := range log {
			if strings.Contains(l, "t0k3n-value-99") {
				t.Errorf("the parameter's value is in the log: %q", l)
			}
		}
		if id, _ := secLogValue(log, "id="); id != "***" {
			t.Errorf("the build's own access key id printed: %q", id)
		}
		if tok, _ := secLogValue(log, "token="); tok != "***" {
			t.Errorf("the endpoint token printed: %q", tok)
		}
		logAttack(t, "build prints its own AccessKeyId and endpoint token", "masked: id=*** token=***")
		for _, c := range []string{"no-token=403", "other-path=403", "traversal=403"} {
			if _, ok := secLogValue(log, c); !ok {
				t.Errorf("log lacks %s\n%s", c, strings.Join(log, "\n"))
			}
		}
		logAttack(t, "credentials endpoint without the token / another build's path with own token", "403 / 403")
		if v := buildEnv(b, "AWS_CONTAINER_AUTHORIZATION_TOKEN"); v != "" {
			t.Errorf("the token is in the build record")
		}
	})

	t.Run("role denies", func(t *testing.T) {
		secProject(t, r, "role-denies", "bare", strings.Replace(spec, "--name /app/token --with-decryption", "--name /app/token --with-decryption", 1), nil, "", "")
		b, log := secRun(t, r, "role-denies")
		e, _ := secLogValue(log, "cli-err=")
		logAttack(t, "aws CLI inside a build: ssm get-parameter, role lacks ssm:GetParameter", e)
		want := "An error occurred (AccessDeniedException) when calling the GetParameter operation: User: arn:aws:sts::000000000000:assumed-role/bare/AWSCodeBuild-"
		if !strings.HasPrefix(e, want) || !strings.HasSuffix(e, "is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:us-east-1:000000000000:parameter/app/token because no identity-based policy allows the ssm:GetParameter action") {
			t.Errorf("get-parameter without the right: %q\n%s\n%s", e, phaseContext(b), strings.Join(log, "\n"))
		}
		if p, _ := secLogValue(log, "probe: get-parameter: "); !strings.Contains(p, "AccessDeniedException") {
			t.Errorf("Go SDK without the right: %q", p)
		}
		_ = b
	})

	t.Run("host CLI and boto3 with a build's credentials, which die with it", func(t *testing.T) {
		secProject(t, r, "long", "reader", `version: 0.2
phases:
  build:
    commands:
      - env | grep -E '^AWS_(ENDPOINT_URL|CONTAINER_CREDENTIALS_FULL_URI|CONTAINER_AUTHORIZATION_TOKEN|REGION|DEFAULT_REGION)=' > "$CODEBUILD_SRC_DIR/creds.env"
      - for i in $(seq 600); do [ -e "$CODEBUILD_SRC_DIR/done" ] && break; sleep 0.1; done
`, nil, "", "")
		out, err := r.CodeBuild().StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("long")})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(out.Build.Id)
		_, uuid, _ := strings.Cut(id, ":")
		hostSrc := filepath.Join(r.State, "builds", uuid, "src")
		var env []string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if b, err := os.ReadFile(filepath.Join(hostSrc, "creds.env")); err == nil && bytes.Count(b, []byte("\n")) == 5 {
				env = strings.Split(strings.TrimSpace(string(b)), "\n")
				break
			}
		}
		if env == nil {
			t.Fatal("the build never wrote its environment")
		}
		// Nothing but the build's environment: no keys, no endpoint flag.
		base := []string{"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_CONFIG_FILE=/dev/null"}
		plain := func(args ...string) (string, string, int) {
			cmd := exec.Command(awsCommand(), args...)
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "AWS_") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(append(cmd.Env, base...), env...)
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			err := cmd.Run()
			rc := 0
			if ee, ok := err.(*exec.ExitError); ok {
				rc = ee.ExitCode()
			}
			return o.String(), e.String(), rc
		}
		o, e, rc := plain("sts", "get-caller-identity", "--output", "text", "--query", "Arn")
		logAttack(t, "aws CLI v1 with only a build's AWS_CONTAINER_CREDENTIALS_FULL_URI (127.0.0.1) and AWS_ENDPOINT_URL", fmt.Sprintf("exit %d %s", rc, firstLine(o+e)))
		if rc != 0 || !strings.Contains(o, "assumed-role/reader/AWSCodeBuild-"+uuid) {
			t.Fatalf("aws CLI v1 with the build's environment: %d %s %s", rc, o, e)
		}
		py := exec.Command(python3Command(), "-c", `import boto3; print(boto3.client("sts").get_caller_identity()["Arn"]); c=boto3.Session().get_credentials().get_frozen_credentials(); print(c.access_key, c.secret_key, c.token)`)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AWS_") {
				py.Env = append(py.Env, kv)
			}
		}
		py.Env = append(append(py.Env, base...), env...)
		pout, err := py.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(pout)), "\n")
		if err != nil || len(lines) != 2 || !strings.Contains(lines[0], "assumed-role/reader/") {
			t.Fatalf("boto3 with the build's environment: %v %s", err, pout)
		}
		logAttack(t, "boto3 with only a build's environment", lines[0])
		creds := strings.Fields(lines[1])
		if len(creds) != 3 {
			t.Fatalf("credentials from the endpoint: %q", lines[1])
		}
		neverLogged = append(neverLogged, creds[1], creds[2])
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "AWS_CONTAINER_AUTHORIZATION_TOKEN="); ok {
				neverLogged = append(neverLogged, v)
			}
		}

		os.WriteFile(filepath.Join(hostSrc, "done"), nil, 0o644)
		b := WaitBuild(t, r.CodeBuild(), id, 60*time.Second)
		if b.BuildStatus != types.StatusTypeSucceeded {
			t.Fatalf("build %s: %s", b.BuildStatus, phaseContext(b))
		}
		o, e, rc = plain("sts", "get-caller-identity")
		logAttack(t, "the build's credentials endpoint after the build ended", fmt.Sprintf("exit %d %s", rc, firstLine(e)))
		if rc == 0 {
			t.Errorf("the endpoint still serves credentials after the build: %s", o)
		}
		dead := []string{credsFile(t, creds[0], creds[1], creds[2])}
		wantCLIError(t, r, "a finished build's session keys (revoked)", dead, "InvalidClientTokenId", "The security token included in the request is invalid.", "sts", "get-caller-identity")
		wantCLIError(t, r, "a finished build's session keys (revoked)", dead, "UnrecognizedClientException", "The security token included in the request is invalid.", "codebuild", "list-projects")
	})

	t.Run("variables resolved with the role's rights", func(t *testing.T) {
		for _, c := range []struct {
			name, role string
			env        types.EnvironmentVariable
			want       string
		}{
			{"param-denied", "bare", bsParam("TOKEN", "/app/token"),
				"DOWNLOAD_SOURCE FAILED: Decrypted Variables Error: AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/bare/AWSCodeBuild-UUID is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:000000000000:parameter/app/token because no identity-based policy allows the ssm:GetParameters action"},
			{"secret-denied", "reader", bsSecret("KEY", "app/key"),
				"DOWNLOAD_SOURCE FAILED: Secrets Manager Error: AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/reader/AWSCodeBuild-UUID is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:000000000000:secret:app/key-"},
			{"param-allowed", "reader", bsParam("TOKEN", "/app/token"), "SUCCEEDED"},
			{"param-managed-policy", "managed-reader", bsParam("TOKEN", "/app/token"), "SUCCEEDED"},
			{"secret-managed-policy", "managed-reader", bsSecret("KEY", "app/key"),
				"DOWNLOAD_SOURCE FAILED: Secrets Manager Error: AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/managed-reader/AWSCodeBuild-UUID is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:000000000000:secret:app/key-"},
			{"param-explicit-deny", "deny-wins", bsParam("TOKEN", "/app/token"),
				"DOWNLOAD_SOURCE FAILED: Decrypted Variables Error: AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/deny-wins/AWSCodeBuild-UUID is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:000000000000:parameter/app/token with an explicit deny in an identity-based policy"},
			{"secret-allowed", "deny-wins", bsSecret("TOKEN", "app/key"), "SUCCEEDED"},
		} {
			secProject(t, r, c.name, c.role, "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"v=$TOKEN\"\n", []types.EnvironmentVariable{c.env}, "", "")
			b, log := secRun(t, r, c.name)
			_, uuid, _ := strings.Cut(aws.ToString(b.Id), ":")
			got := strings.ReplaceAll(phaseContext(b), uuid, "UUID")
			logAttack(t, fmt.Sprintf("%s variable %s with role %s", c.env.Type, aws.ToString(c.env.Value), c.role), got)
			if !strings.HasPrefix(got, c.want) {
				t.Errorf("%s: %q\nwant %q", c.name, got, c.want)
			}
			if c.want == "SUCCEEDED" {
				if v, _ := secLogValue(log, "v="); v != "***" {
					t.Errorf("resolved value in the log: %q", v)
				}
			}
			for _, ev := range b.Environment.EnvironmentVariables {
				if strings.Contains(aws.ToString(ev.Value), "value-") {
					t.Errorf("BatchGetBuilds returns a resolved value: %+v", ev)
				}
			}
		}
	})

	t.Run("a role the build cannot assume", func(t *testing.T) {
		_, err := r.IAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("not-for-codebuild"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		for _, role := range []string{"no-such-role", "not-for-codebuild"} {
			secProject(t, r, "p-"+role, role, "version: 0.2\nphases:\n  build:\n    commands: [echo ran]\n", nil, "", "")
			b, log := secRun(t, r, "p-"+role)
			got := phaseContext(b)
			logAttack(t, "project whose service role is "+role, got)
			want := "PROVISIONING FAILED: CLIENT_ERROR: CodeBuild is not authorized to perform: sts:AssumeRole on arn:aws:iam::000000000000:role/" + role
			if b.BuildStatus != types.StatusTypeFailed || got != want {
				t.Errorf("%s: %s\nwant %s", role, got, want)
			}
			if _, ok := secLogValue(log, "ran"); ok {
				t.Errorf("%s: a command ran", role)
			}
		}
	})
}

func grepLog(log []string, prefix string) []string {
	var out []string
	for _, l := range log {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func buildEnv(b types.Build, name string) string {
	if b.Environment == nil {
		return ""
	}
	for _, v := range b.Environment.EnvironmentVariables {
		if aws.ToString(v.Name) == name {
			return aws.ToString(v.Value)
		}
	}
	return ""
}

// TestMaskingSubstrings is the decision on partial secrets: a secret is
// masked wherever it occurs whole (inside longer text too, split across
// two writes of one line, or overlapping another secret); a strict part of
// it printed alone is not a secret and shows, unless it is itself another
// secret's whole value. Masking every substring would mask everything: any
// one character is a substring of some secret.
func TestMaskingSubstrings(t *testing.T) {
	r := StartRunner(t)
	ctx := context.Background()
	for name, v := range map[string]string{"/mask/long": "alpha-bravo-charlie", "/mask/short": "bravo"} {
		if _, err := r.SSM().PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(v), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
			t.Fatal(err)
		}
	}
	secProject(t, r, "masking", TestRoleName, `version: 0.2
phases:
  build:
    commands:
      - echo "whole=$LONG"
      - echo "inside=x${LONG}x"
      - printf 'split=%s' "${LONG:0:8}"; sleep 0.05; printf '%s\n' "${LONG:8}"
      - echo "part=${LONG:12}"
      - echo "other-secret=${LONG:6:5}"
      - echo "b64=$(printf %s "$LONG" | base64)"
      - printf 'long=%s%s%s\n' "$(head -c $PAD /dev/zero | tr '\0' a)" "$LONG" "$(head -c 100 /dev/zero | tr '\0' b)"
`, []types.EnvironmentVariable{bsParam("LONG", "/mask/long"), bsParam("SHORT", "/mask/short"),
		// The secret straddles the point where a line too long for one
		// log event is cut.
		bsPlain("PAD", fmt.Sprint(logstore.MaxLineBytes-len("long=")-8))}, "", "")
	b, log := secRun(t, r, "masking")
	if b.BuildStatus != types.StatusTypeSucceeded {
		t.Fatalf("%s", phaseContext(b))
	}
	for i, l := range log {
		if strings.Contains(l, "alpha-bravo-charlie") {
			t.Errorf("event %d holds the secret", i)
		}
		if strings.HasPrefix(l, "long=") && i+1 < len(log) {
			pad := logstore.MaxLineBytes - len("long=") - 8
			want := "long=" + strings.Repeat("a", pad) + "***" + strings.Repeat("b", 100)
			got := l + log[i+1]
			logAttack(t, fmt.Sprintf("secret printed across the cut of a %d-byte line into two log events", len(want)+len("alpha-bravo-charlie")-3),
				fmt.Sprintf("events of %d and %d bytes, the second starting %q", len(l), len(log[i+1]), log[i+1][:min(len(log[i+1]), 8)]))
			if got != want {
				t.Errorf("long line: %d+%d bytes, want the %d bytes of the masked line", len(l), len(log[i+1]), len(want))
			}
		}
	}
	for _, c := range []struct{ prefix, want string }{
		{"whole=", "***"},
		{"inside=", "x***x"},
		{"split=", "***"},
		{"part=", "charlie"},     // a part that is no secret itself shows
		{"other-secret=", "***"}, // a part that is another secret is masked
		{"b64=", bsB64("alpha-bravo-charlie")},
	} {
		got, _ := secLogValue(log, c.prefix)
		logAttack(t, "secret printed as "+strings.TrimSuffix(c.prefix, "="), got)
		if got != c.want {
			t.Errorf("%s%q, want %q", c.prefix, got, c.want)
		}
	}
}

// hostPidOf finds the host pid of a process whose argv is exactly args.
func hostPidOf(t *testing.T, args ...string) int {
	t.Helper()
	want := strings.Join(args, "\x00") + "\x00"
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			var pid int
			if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
				continue
			}
			if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && string(b) == want {
				return pid
			}
		}
	}
	t.Fatalf("no process %q", args)
	return 0
}

// TestSandboxWalls is item 6, tried from inside a build: the runner's
// state (keys, database, sealing key, logs), other builds' sources and
// processes, the runner's process, mounts and devices are out of reach.
func TestSandboxWalls(t *testing.T) {
	r := bsStartRunner(t)
	ctx := context.Background()
	cb := r.CodeBuild()
	// Another build that keeps running, with a process to aim at.
	CreateProject(t, cb, "victim", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo victim-secret-output > mine.txt\n      - sleep 3141\n")
	vo, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("victim")})
	if err != nil {
		t.Fatal(err)
	}
	victim := aws.ToString(vo.Build.Id)
	victimPid := hostPidOf(t, "sleep", "3141")
	_, vuuid, _ := strings.Cut(victim, ":")
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(r.State, "hangar.db"), &st); err != nil {
		t.Fatal(err)
	}
	major, minor := st.Dev>>8&0xfff, st.Dev&0xff|st.Dev>>12&0xfff00

	spec := `version: 0.2
phases:
  build:
    commands:
      - for f in hangar.db master.key credentials endpoint; do if head -c1 "$STATE/$f" >/dev/null 2>&1; then echo "read-$f=READABLE"; else echo "read-$f=refused"; fi; done
      - echo "state-entries=$(ls -A "$STATE" 2>/dev/null | wc -l) logs-entries=$(ls -A "$STATE/logs" 2>/dev/null | wc -l)"
      - if ls -A "$STATE/builds/$VICTIM" >/dev/null 2>&1 && [ -n "$(ls -A "$STATE/builds/$VICTIM" 2>/dev/null)" ]; then echo other-src=VISIBLE; else echo other-src=hidden; fi
      - if grep -rqs victim-secret-output / --include=mine.txt 2>/dev/null; then echo other-file=FOUND; else echo other-file=absent; fi
      - if kill -9 "$RUNNER_PID" 2>/dev/null; then echo kill-runner=SENT; else echo kill-runner=refused; fi
      - if kill -9 "$VICTIM_PID" 2>/dev/null; then echo kill-victim=SENT; else echo kill-victim=refused; fi
      - if kill -9 -1 2>/dev/null; then echo kill-all=sent-in-own-namespace; else echo kill-all=refused; fi
      - if ls "/proc/$RUNNER_PID/root/" >/dev/null 2>&1; then echo proc-runner-root=VISIBLE; else echo proc-runner-root=absent; fi
      - if head -c1 /proc/1/environ >/dev/null 2>&1; then echo init-environ=READABLE; else echo init-environ=refused; fi
      - n=0; for f in /proc/1/fd/*; do if readlink "$f" >/dev/null 2>&1 || { true >> "$f"; } 2>/dev/null; then n=$((n+1)); fi; done; echo "init-fds-opened=$n"
      - echo "init-root-state=$(ls -A "/proc/1/root$STATE" 2>/dev/null | wc -l)"
      - python3 -c 'import ctypes;l=ctypes.CDLL(None,use_errno=True);r=l.ptrace(16,1,0,0);print("ptrace-init=%s" % ("ATTACHED" if r==0 else "refused errno %d" % ctypes.get_errno()))'
      - if mount -t tmpfs none /mnt 2>/dev/null; then echo mount=MOUNTED; else echo mount=refused; fi
      - if mount -o remount,rw / 2>/dev/null; then echo remount=REMOUNTED; else echo remount=refused; fi
      - if umount -l "$STATE" 2>/dev/null; then echo "umount-state=UNMOUNTED entries=$(ls -A "$STATE" | wc -l)"; else echo umount-state=refused; fi
      - echo "userns-umount=$(unshare -Urm sh -c "umount -l '$STATE' 2>/dev/null; ls -A '$STATE' 2>/dev/null | wc -l" 2>&1)"
      - for d in /tmp "$CODEBUILD_SRC_DIR" "$HOME" /dev/shm; do if mknod "$d/disk" b $MAJOR $MINOR 2>/dev/null && head -c 512 "$d/disk" >/dev/null 2>&1; then echo "raw-disk-$d=READ"; else echo "raw-disk-$d=refused"; fi; done
      - if echo h > /proc/sysrq-trigger 2>/dev/null; then echo sysrq=WRITTEN; else echo sysrq=refused; fi
      - if echo $$ > /sys/fs/cgroup/pids/cgroup.procs 2>/dev/null; then echo cgroup-escape=MOVED; else echo cgroup-escape=refused; fi
      - if touch /etc/hangar-escape /usr/hangar-escape 2>/dev/null; then echo write-root=WRITTEN; else echo write-root=refused; fi
      - if nsenter --target "$RUNNER_PID" --mount true 2>/dev/null; then echo nsenter-runner=ENTERED; else echo nsenter-runner=refused; fi
`
	secProject(t, r, "attacker", TestRoleName, spec, []types.EnvironmentVariable{
		bsPlain("STATE", r.State), bsPlain("VICTIM", vuuid),
		bsPlain("RUNNER_PID", fmt.Sprint(r.cmd.Process.Pid)), bsPlain("VICTIM_PID", fmt.Sprint(victimPid)),
		bsPlain("MAJOR", fmt.Sprint(major)), bsPlain("MINOR", fmt.Sprint(minor)),
	}, "", "")
	b, log := secRun(t, r, "attacker")
	if b.BuildStatus != types.StatusTypeSucceeded {
		t.Fatalf("attacker build %s: %s\n%s", b.BuildStatus, phaseContext(b), strings.Join(log, "\n"))
	}
	want := map[string]string{
		"read-hangar.db": "refused", "read-master.key": "refused", "read-credentials": "refused", "read-endpoint": "refused",
		"state-entries": "0 logs-entries=0", "other-src": "hidden", "other-file": "absent",
		"kill-runner": "refused", "kill-victim": "refused", "proc-runner-root": "absent",
		"init-environ": "refused", "init-fds-opened": "0", "init-root-state": "0", "userns-umount": "0",
		"mount": "refused", "remount": "refused", "umount-state": "refused",
		"sysrq": "refused", "cgroup-escape": "refused", "write-root": "refused", "nsenter-runner": "refused",
	}
	what := map[string]string{
		"read-hangar.db": "read the runner's database", "read-master.key": "read the sealing key",
		"read-credentials": "read the runner's key file", "read-endpoint": "read the endpoint file",
		"state-entries": "list the state dir (entries) and its logs dir", "other-src": "list another running build's work dir",
		"other-file": "grep the whole file system for another build's output file", "kill-runner": "kill -9 the runner's pid",
		"kill-victim": "kill -9 another build's process", "proc-runner-root": "ls /proc/<runner pid>/root",
		"init-environ": "read /proc/1/environ", "init-fds-opened": "open pid 1's fds (count opened)",
		"init-root-state": "list the state dir through /proc/1/root (entries)", "userns-umount": "unshare -Urm, umount the hidden state dir, list it (entries)",
		"mount": "mount a tmpfs", "remount": "remount / read-write", "umount-state": "umount the tmpfs hiding the state dir",
		"sysrq": "write /proc/sysrq-trigger", "cgroup-escape": "move itself to the root pids cgroup",
		"write-root": "touch /etc and /usr files", "nsenter-runner": "nsenter the runner's mount namespace",
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		got, ok := secLogValue(log, k+"=")
		logAttack(t, "from inside a build: "+what[k]+" ("+k+")", got)
		if !ok || got != want[k] {
			t.Errorf("%s=%q, want %q", k, got, want[k])
		}
	}
	for _, l := range log {
		switch {
		case strings.HasPrefix(l, "raw-disk-"), strings.HasPrefix(l, "ptrace-init="), strings.HasPrefix(l, "kill-all="):
			k, v, _ := strings.Cut(l, "=")
			desc := map[string]string{"ptrace-init": "ptrace(PTRACE_ATTACH) pid 1", "kill-all": "kill -9 -1"}[k]
			if d, ok := strings.CutPrefix(k, "raw-disk-"); ok {
				desc = "mknod the host disk's block device in " + d + " and read it"
			}
			logAttack(t, "from inside a build: "+desc+" ("+k+")", v)
			if strings.HasSuffix(l, "=READ") || strings.Contains(l, "ATTACHED") {
				t.Errorf("wall breached: %s", l)
			}
		}
	}
	// The runner and the other build are unharmed.
	if _, err := cb.ListProjects(ctx, &codebuild.ListProjectsInput{}); err != nil {
		t.Errorf("the runner after the attack: %v", err)
	}
	vb := bsBuildNow(t, cb, victim)
	if vb.BuildStatus != types.StatusTypeInProgress {
		t.Errorf("the other build after the attack: %s %s", vb.BuildStatus, phaseContext(vb))
	}
	if _, err := os.Stat(filepath.Join("/proc", fmt.Sprint(victimPid))); err != nil {
		t.Errorf("the other build's process: %v", err)
	}
	for _, p := range []string{"/etc/hangar-escape", "/usr/hangar-escape"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written on the host", p)
			os.Remove(p)
		}
	}
	cb.StopBuild(ctx, &codebuild.StopBuildInput{Id: aws.String(victim)})
	WaitBuild(t, cb, victim, 30*time.Second)
}

// TestLambdaBuildsRunUnprivileged checks, through the API, that a build on
// Lambda compute runs as a non-root user that cannot write the host or
// read the runner's state.
func TestLambdaBuildsRunUnprivileged(t *testing.T) {
	r := bsStartRunner(t)
	secProject(t, r, "lambda", TestRoleName, `version: 0.2
phases:
  build:
    commands:
      - echo "uid=$(id -u) gid=$(id -g)"
      - if touch /usr/x 2>/dev/null; then echo write-usr=WRITTEN; else echo write-usr=refused; fi
      - if ls -A /root >/dev/null 2>&1; then echo root-home=LISTED; else echo root-home=refused; fi
      - echo "state-entries=$(ls -A "$STATE" 2>/dev/null | wc -l)"
      - echo "nnp=$(grep NoNewPrivs /proc/self/status | tr -d '\t ')"
      - if su -c true 2>/dev/null </dev/null; then echo su=ROOT; else echo su=refused; fi
`, []types.EnvironmentVariable{bsPlain("STATE", r.State)}, types.EnvironmentTypeLinuxLambdaContainer, types.ComputeTypeBuildLambda1gb)
	b, log := secRun(t, r, "lambda")
	if b.BuildStatus != types.StatusTypeSucceeded {
		t.Fatalf("lambda build %s: %s\n%s", b.BuildStatus, phaseContext(b), strings.Join(log, "\n"))
	}
	for _, c := range []struct{ k, what, want string }{
		{"uid", "id -u, id -g", "65534 gid=65534"}, {"write-usr", "touch /usr/x", "refused"}, {"root-home", "list /root", "refused"},
		{"state-entries", "list the runner's state dir (entries)", "0"}, {"nnp", "NoNewPrivs in /proc/self/status", "NoNewPrivs:1"},
		{"su", "su to root", "refused"},
	} {
		got, _ := secLogValue(log, c.k+"=")
		logAttack(t, "from inside a Lambda build: "+c.what+" ("+c.k+")", got)
		if got != c.want {
			t.Errorf("%s=%q, want %q", c.k, got, c.want)
		}
	}
}

// TestBadInputWalls is item 7 beyond the API's shapes (TestBadInput):
// headers over the limit, S3 keys that look like paths, policies that are
// not JSON, archives with devices and links out; clear errors, and nothing
// written outside where it belongs.
func TestBadInputWalls(t *testing.T) {
	r := bsStartRunner(t)
	ctx := context.Background()
	k := r.Key()

	t.Run("headers over the limit", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(r.Endpoint, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /_hangar/health HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 2<<20))
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, _ := bufio.NewReader(conn).ReadString('\n')
		logAttack(t, "a 2 MiB request header", line)
		if !strings.HasPrefix(line, "HTTP/1.1 431") {
			t.Errorf("2 MiB header: %q", line)
		}
	})

	t.Run("Query body over the limit", func(t *testing.T) {
		// IAM and STS bodies are hashed whole to check the signature: past
		// 16 MiB the request is refused before anything is parsed.
		form := "Action=CreateRole&Version=2010-05-08&RoleName=huge&AssumeRolePolicyDocument=" + strings.Repeat("x", 16<<20+64<<10)
		raw := r.Do(&k, "iam", http.MethodPost, "/", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte(form))
		logAttack(t, "IAM CreateRole with a 16.1 MiB form body", fmt.Sprintf("%d %s", raw.Status, xmlCode(string(raw.Body))))
		if raw.Status != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw.Body), "<Code>RequestEntityTooLarge</Code>") {
			t.Errorf("16.1 MiB Query body: %d %s", raw.Status, firstLine(string(raw.Body)))
		}
		if _, err := r.IAM().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("huge")}); err == nil {
			t.Error("the oversized request made a role")
		}
	})

	t.Run("S3 keys that look like paths", func(t *testing.T) {
		cli(t, r, nil, "s3", "mb", "s3://walls")
		for _, c := range []struct{ path, key string }{
			{"/walls/..%2F..%2F..%2Fescape-1", "../../../escape-1"},
			{"/walls/%2e%2e/%2e%2e/escape-2", "../../escape-2"},
			{"/walls/a/../../escape-3", "a/../../escape-3"},
		} {
			raw := s3Put(t, r, k, c.path)
			logAttack(t, "S3 PUT "+c.path, fmt.Sprintf("%d, stored as the opaque key %q", raw.Status, c.key))
			if raw.Status != 200 {
				t.Errorf("PUT %s: %d %s", c.path, raw.Status, raw.Body)
				continue
			}
			if _, err := r.S3().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("walls"), Key: aws.String(c.key)}); err != nil {
				t.Errorf("key %q: %v", c.key, err)
			}
		}
		for _, c := range []struct{ path, code string }{
			{"/walls/a%00b", "InvalidArgument"},
			{"/walls/" + strings.Repeat("k", 1025), "KeyTooLongError"},
			{"/%2e%2e/x", "InvalidBucketName"},
		} {
			raw := s3Put(t, r, k, c.path)
			logAttack(t, "S3 PUT "+firstLine(c.path[:min(len(c.path), 40)]), fmt.Sprintf("%d %s", raw.Status, xmlCode(string(raw.Body))))
			if raw.Status != 400 || !strings.Contains(string(raw.Body), "<Code>"+c.code+"</Code>") {
				t.Errorf("PUT %s: %d %s", c.path[:min(len(c.path), 40)], raw.Status, raw.Body)
			}
		}
		// A single PUT of 6 GiB (S3's limit is 5): refused on its
		// Content-Length, before any of the body is read or stored.
		status, body := s3PutClaim(t, r, k, "/walls/huge.bin", 6<<30)
		logAttack(t, "S3 PUT announcing a 6 GiB body", fmt.Sprintf("%d %s", status, xmlCode(body)))
		if status != 400 || !strings.Contains(body, "<Code>EntityTooLarge</Code>") {
			t.Errorf("6 GiB PUT: %d %s", status, body)
		}
		if _, err := r.S3().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("walls"), Key: aws.String("huge.bin")}); err == nil {
			t.Error("the 6 GiB PUT stored an object")
		}
		// Objects are blobs named by their hashes: no file took a key's name.
		filepath.WalkDir(filepath.Dir(r.State), func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), "escape-") {
				t.Errorf("a key became a file: %s", p)
			}
			if err == nil && d.IsDir() && p != filepath.Dir(r.State) && !strings.HasPrefix(p, r.State) {
				return filepath.SkipDir
			}
			return nil
		})
	})

	t.Run("policy documents that are not JSON", func(t *testing.T) {
		r.CreateBuildRole("victim-role", "")
		for _, c := range []struct{ name, doc, code, msg string }{
			{"not JSON", "not json", "MalformedPolicyDocument", "This policy contains invalid Json"},
			{"truncated", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow"`, "MalformedPolicyDocument", "This policy contains invalid Json"},
			{"deeply nested", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), "MalformedPolicyDocument", ""},
			{"JSON, not a policy", `[1,2,3]`, "MalformedPolicyDocument", "Syntax errors in policy."},
			{"trailing content", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} {}`, "MalformedPolicyDocument", "This policy contains invalid Json"},
			{"too big", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Sid":"` + strings.Repeat("x", 20000) + `"}}`, "LimitExceeded", ""},
		} {
			_, err := r.IAM().PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("victim-role"), PolicyName: aws.String("p"), PolicyDocument: aws.String(c.doc)},
				func(o *iam.Options) { o.RetryMaxAttempts = 1 })
			logAttack(t, "PutRolePolicy with a document "+c.name, apiErrString(err))
			var ae interface{ ErrorCode() string }
			if !errors.As(err, &ae) || ae.ErrorCode() != c.code || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%s: %v; want %s %q", c.name, err, c.code, c.msg)
			}
		}
		out, err := r.IAM().ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("victim-role")})
		if err != nil || len(out.PolicyNames) != 0 {
			t.Errorf("a refused policy was stored: %v %v", err, out)
		}
	})

	t.Run("archives with paths out, devices, fifos, links out and huge files", func(t *testing.T) {
		escape := bsEscapeDir(t)
		bad := map[string]*tar.Header{
			"dotdot":   {Name: bsEscapeUp(escape) + "/dotdot", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3},
			"absolute": {Name: escape + "/absolute", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3},
			"disk":     {Name: "disk", Typeflag: tar.TypeBlock, Mode: 0o600, Devmajor: 254},
			"null":     {Name: "null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
			"fifo":     {Name: "fifo", Typeflag: tar.TypeFifo, Mode: 0o644},
			"passwd":   {Name: "passwd", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"},
			"out":      {Name: "out", Typeflag: tar.TypeSymlink, Linkname: escape},
			// 5 GiB claimed, a few bytes sent: the size alone must stop it.
			"huge": {Name: "huge.bin", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5 << 30},
		}
		what := map[string]string{
			"dotdot": "a path climbing out with ../", "absolute": "an absolute path", "disk": "a block device", "null": "a char device",
			"fifo": "a FIFO", "passwd": "a hard link to /etc/passwd", "out": "a symlink out of the tree", "huge": "a single 5 GiB file",
		}
		why := map[string]string{"huge": "file is larger than 4294967296 bytes"}
		cli(t, r, nil, "s3", "mb", "s3://archives")
		for i, name := range []string{"dotdot", "absolute", "disk", "null", "fifo", "passwd", "out", "huge"} {
			// One bad entry per archive, so each refusal is seen.
			var one bytes.Buffer
			w := tar.NewWriter(&one)
			w.WriteHeader(&tar.Header{Name: "ok.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3})
			w.Write([]byte("ok\n"))
			w.WriteHeader(bad[name])
			if bad[name].Size > 0 {
				w.Write([]byte("ok\n")) // all of it but for the huge file
			}
			w.Close() // fails for the huge file, whose header is written already
			key := fmt.Sprintf("evil-%d.tar", i)
			if _, err := r.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("archives"), Key: aws.String(key), Body: bytes.NewReader(one.Bytes())}); err != nil {
				t.Fatal(err)
			}
			project := "arch-" + name
			_, err := r.CodeBuild().CreateProject(ctx, &codebuild.CreateProjectInput{
				Name:        aws.String(project),
				Source:      &types.ProjectSource{Type: types.SourceTypeS3, Location: aws.String("archives/" + key), Buildspec: aws.String("version: 0.2\nphases:\n  build:\n    commands: [echo ran]\n")},
				Artifacts:   &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts},
				Environment: &types.ProjectEnvironment{Type: types.EnvironmentTypeLinuxContainer, Image: aws.String("x"), ComputeType: types.ComputeTypeBuildGeneral1Small},
				ServiceRole: aws.String(TestRoleName),
			})
			if err != nil {
				t.Fatal(err)
			}
			b, log := secRun(t, r, project)
			got := phaseContext(b)
			logAttack(t, "S3 source archive with "+what[name], got)
			reason := why[name]
			if reason == "" {
				reason = "unsafe"
			}
			if b.BuildStatus != types.StatusTypeFailed || !strings.HasPrefix(got, "DOWNLOAD_SOURCE FAILED: CLIENT_ERROR: unpack source archives/"+key) || !strings.Contains(got, reason) {
				t.Errorf("%s: %s", name, got)
			}
			if _, ok := secLogValue(log, "ran"); ok {
				t.Errorf("%s: the build ran", name)
			}
		}
		if ents, _ := os.ReadDir(escape); len(ents) != 0 {
			t.Errorf("something reached %s: %v", escape, ents)
		}
	})
}

// s3PutClaim sends the head of a PUT whose Content-Length says size, with
// an unsigned payload, and a few bytes of body; it returns the answer's
// status and body.
func s3PutClaim(t *testing.T, r *Runner, k Key, path string, size int64) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, r.Endpoint+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", req.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var head strings.Builder
	fmt.Fprintf(&head, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", path, req.URL.Host, size)
	req.Header.Write(&head)
	head.WriteString("\r\n")
	if _, err := io.WriteString(conn, head.String()+"xxxx"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("answer to a %d-byte PUT: %v", size, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// s3Put sends a PUT of "x" to path exactly as written, signed the way S3
// signs (the path as sent, not escaped again).
func s3Put(t *testing.T, r *Runner, k Key, path string) Raw {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, r.Endpoint+path, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("x"))
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}, req, hash, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Raw{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// TestStateDirPrivate starts a runner on a state dir made beforehand with
// a loose mode: the runner makes it, and the files with its keys and
// state, its user's alone.
func TestStateDirPrivate(t *testing.T) {
	dir, err := os.MkdirTemp("/var/tmp", "hangar-loose-state-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &Runner{t: t, State: dir}
	r.Start()
	t.Cleanup(r.Stop)
	// A write, so that the database has its WAL files too.
	cli(t, r, nil, "s3", "mb", "s3://state-mode")
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	logAttack(t, "state dir made beforehand with mode 0755", fmt.Sprintf("runner set it to %v", fi.Mode().Perm()))
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", fi.Mode().Perm())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "hangar.db*"))
	files = append(files, filepath.Join(dir, "credentials"), filepath.Join(dir, "master.key"))
	var modes []string
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		modes = append(modes, fmt.Sprintf("%s %v", filepath.Base(f), fi.Mode().Perm()))
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	logAttack(t, "modes of the runner's key, sealing key and database files", strings.Join(modes, ", "))
	if len(files) < 4 {
		t.Errorf("database files: %v", files)
	}
}

// TestPolicyConditionsRealClients is item 3's evaluation seen through
// boto3: an IAM user whose policy uses the condition operators Bool,
// StringLike, ArnLike (with '?') and StringEquals on request keys, a Deny
// with NotAction and one with NotResource over Allows.
func TestPolicyConditionsRealClients(t *testing.T) {
	r := StartRunner(t)
	ctx := context.Background()
	for _, b := range []string{"cond-bucket", "other-bucket"} {
		if _, err := r.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.SSM().PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/cond/p"), Value: aws.String("v"), Type: ssmtypes.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	env := userKey(t, r, "cond", `{"Version":"2012-10-17","Statement":[
		{"Sid":"TLSOnly","Effect":"Allow","Action":"ssm:GetParameter","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
		{"Sid":"OwnPrefix","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::*","Condition":{"StringLike":{"s3:prefix":["cond/*"]}}},
		{"Sid":"SelfOnly","Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/co?d"}}},
		{"Sid":"EURegion","Effect":"Allow","Action":"codebuild:ListProjects","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}},
		{"Sid":"AllSecrets","Effect":"Allow","Action":"secretsmanager:*","Resource":"*"},
		{"Sid":"OnlyThese","Effect":"Deny","NotAction":["s3:*","ssm:*","iam:GetUser","codebuild:ListProjects"],"Resource":"*"},
		{"Sid":"OneBucket","Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::cond-bucket","arn:aws:s3:::cond-bucket/*"]}]}`)
	out, stderr, rc := pyEnv(r, env, `
import boto3, botocore
from botocore.config import Config
cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
def c(name, region="us-east-1"):
    return boto3.client(name, region_name=region, config=cfg)
for name, call in [
    ("ssm-over-http", lambda: c("ssm").get_parameter(Name="/cond/p")),
    ("s3-own-prefix", lambda: c("s3").list_objects_v2(Bucket="cond-bucket", Prefix="cond/")),
    ("s3-other-prefix", lambda: c("s3").list_objects_v2(Bucket="cond-bucket", Prefix="other/")),
    ("s3-other-bucket", lambda: c("s3").list_objects_v2(Bucket="other-bucket", Prefix="cond/")),
    ("iam-self", lambda: c("iam").get_user()),
    ("codebuild-us-east-1", lambda: c("codebuild").list_projects()),
    ("codebuild-eu-west-1", lambda: c("codebuild", "eu-west-1").list_projects()),
    ("secrets-notaction-deny", lambda: c("secretsmanager").list_secrets()),
    ("sts-under-deny", lambda: c("sts").get_caller_identity()),
]:
    try:
        call(); print(name, "ok")
    except botocore.exceptions.ClientError as e:
        print(name, e.response["Error"]["Code"], e.response["Error"].get("Message", ""))
`)
	if rc != 0 {
		t.Fatalf("boto3: %s %s", out, stderr)
	}
	user := "User: arn:aws:iam::000000000000:user/cond is not authorized to perform: "
	want := map[string]string{
		"ssm-over-http":          "AccessDeniedException " + user + "ssm:GetParameter on resource: arn:aws:ssm:us-east-1:000000000000:parameter/cond/p because no identity-based policy allows the ssm:GetParameter action",
		"s3-own-prefix":          "ok",
		"s3-other-prefix":        `AccessDenied ` + user + `s3:ListBucket on resource: "arn:aws:s3:::cond-bucket" because no identity-based policy allows the s3:ListBucket action`,
		"s3-other-bucket":        `AccessDenied ` + user + `s3:ListBucket on resource: "arn:aws:s3:::other-bucket" with an explicit deny in an identity-based policy`,
		"iam-self":               "ok",
		"codebuild-us-east-1":    "AccessDeniedException " + user + "codebuild:ListProjects on resource: * because no identity-based policy allows the codebuild:ListProjects action",
		"codebuild-eu-west-1":    "ok",
		"secrets-notaction-deny": "AccessDeniedException " + user + "secretsmanager:ListSecrets on resource: * with an explicit deny in an identity-based policy",
		"sts-under-deny":         "ok",
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(l, " ")
		got[k] = v
	}
	what := map[string]string{
		"ssm-over-http":          "ssm:GetParameter allowed only with Bool aws:SecureTransport true, over http",
		"s3-own-prefix":          "ListObjectsV2 with the prefix StringLike allows (cond/*)",
		"s3-other-prefix":        "ListObjectsV2 with another prefix (other/)",
		"s3-other-bucket":        "ListObjectsV2 of a bucket outside a Deny's NotResource",
		"iam-self":               "iam:GetUser allowed by ArnLike aws:PrincipalArn user/co?d",
		"codebuild-us-east-1":    "ListProjects allowed only for StringEquals aws:RequestedRegion eu-west-1, signed for us-east-1",
		"codebuild-eu-west-1":    "the same signed for eu-west-1",
		"secrets-notaction-deny": "ListSecrets, allowed by secretsmanager:* but outside a Deny's NotAction",
		"sts-under-deny":         "sts:GetCallerIdentity under that Deny",
	}
	for _, k := range []string{"ssm-over-http", "s3-own-prefix", "s3-other-prefix", "s3-other-bucket", "iam-self", "codebuild-us-east-1", "codebuild-eu-west-1", "secrets-notaction-deny", "sts-under-deny"} {
		logAttack(t, "IAM user (boto3): "+what[k], got[k])
		if got[k] != want[k] {
			t.Errorf("%s: %q\nwant %q", k, got[k], want[k])
		}
	}
}
