package sts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/service/iam/iamtest"
	"github.com/hangarci/hangar/internal/service/sts"
)

const codebuildTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func wantErr(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v; want %s", err, code)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() != msg {
		t.Fatalf("err = %s: %q; want %s: %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Fatalf("err %v: want HTTP %d", err, status)
	}
}

func mkRole(t *testing.T, e *iamtest.Env, name, trust string, maxSession int32) string {
	t.Helper()
	out, err := e.AdminIAM().CreateRole(context.Background(), &awsiam.CreateRoleInput{
		RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(maxSession)})
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	return aws.ToString(out.Role.Arn)
}

// userKeys makes an IAM user with one access key and returns an STS
// client signing as it.
func userKeys(t *testing.T, e *iamtest.Env, name string) (*awssts.Client, string) {
	t.Helper()
	ctx := context.Background()
	c := e.AdminIAM()
	u, err := c.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return awssts.NewFromConfig(e.Config(aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), "")), aws.ToString(u.User.Arn)
}

func TestAssumeRole(t *testing.T) {
	ctx := context.Background()
	e := iamtest.New(t, iamtest.Options{})
	roleArn := mkRole(t, e, "dev-codebuild-role", codebuildTrust, 7200)
	role, err := e.AdminIAM().GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("dev-codebuild-role")})
	if err != nil {
		t.Fatal(err)
	}
	roleID := aws.ToString(role.Role.RoleId)
	admin := e.AdminSTS()

	who, err := admin.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:iam::000000000000:user/hangar" || aws.ToString(who.Account) != "000000000000" ||
		!strings.HasPrefix(aws.ToString(who.UserId), "AIDA") || len(aws.ToString(who.UserId)) != 21 {
		t.Fatalf("admin identity = %+v, %v", who, err)
	}

	// An admin may assume a role that trusts a service (it acts for it).
	start := time.Now()
	out, err := admin.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("build-1")})
	if err != nil {
		t.Fatal(err)
	}
	cr := out.Credentials
	if !strings.HasPrefix(aws.ToString(cr.AccessKeyId), "ASIA") || len(aws.ToString(cr.AccessKeyId)) != 20 || len(aws.ToString(cr.SecretAccessKey)) != 40 ||
		len(aws.ToString(cr.SessionToken)) < 100 || cr.Expiration == nil || cr.Expiration.Sub(start) < 59*time.Minute || cr.Expiration.Sub(start) > 61*time.Minute {
		t.Fatalf("credentials = %+v", cr)
	}
	if aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::000000000000:assumed-role/dev-codebuild-role/build-1" ||
		aws.ToString(out.AssumedRoleUser.AssumedRoleId) != roleID+":build-1" || out.PackedPolicySize != nil {
		t.Fatalf("assumed role user = %+v", out.AssumedRoleUser)
	}
	db := e.DBBytes(t)
	if bytes.Contains(db, []byte(aws.ToString(cr.SecretAccessKey))) || bytes.Contains(db, []byte(aws.ToString(cr.SessionToken))) {
		t.Fatal("a temporary secret or session token is in the database in the clear")
	}

	// The credentials sign requests as the role session.
	sess := e.Config(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken))
	sid, err := awssts.NewFromConfig(sess).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(sid.Arn) != "arn:aws:sts::000000000000:assumed-role/dev-codebuild-role/build-1" ||
		aws.ToString(sid.UserId) != roleID+":build-1" {
		t.Fatalf("session identity = %+v, %v", sid, err)
	}
	_, err = awsiam.NewFromConfig(sess).GetUser(ctx, &awsiam.GetUserInput{})
	wantErr(t, err, "ValidationError", 400, "Must specify userName when calling with non-User credentials")
	// Without the session token, or with another, they sign nothing.
	_, err = awssts.NewFromConfig(e.Config(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), "")).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err == nil {
		t.Fatal("temporary credentials worked without their session token")
	}
	k, err := e.STS.LookupAccessKey(ctx, aws.ToString(cr.AccessKeyId))
	if err != nil || k.SessionToken != aws.ToString(cr.SessionToken) || k.Caller.Admin || k.Caller.UserName != "build-1" || !k.Expires.Equal(*cr.Expiration) {
		t.Fatalf("lookup = %+v, %v", k, err)
	}
	if _, err := e.STS.LookupAccessKey(ctx, "ASIANOSUCHKEY0000000"); !errors.Is(err, awsapi.ErrUnknownAccessKey) {
		t.Fatalf("unknown key: %v", err)
	}

	// Durations: 900 s up to the role's MaxSessionDuration.
	if _, err := admin.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(7200)}); err != nil {
		t.Fatal(err)
	}
	_, err = admin.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(7201)})
	wantErr(t, err, "ValidationError", 400, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	_, err = admin.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(600)})
	wantErr(t, err, "ValidationError", 400, "1 validation error detected: Value '600' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")
	_, err = admin.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("bad:name")})
	wantErr(t, err, "ValidationError", 400, `1 validation error detected: Value 'bad:name' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`)

	// Roles that do not exist, or cannot be named, are refused alike.
	_, err = admin.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/missing"), RoleSessionName: aws.String("s1")})
	wantErr(t, err, "AccessDenied", 403, "User: arn:aws:iam::000000000000:user/hangar is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/missing")
	_, err = admin.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/ci/dev-codebuild-role"), RoleSessionName: aws.String("s1")})
	wantErr(t, err, "AccessDenied", 403, "User: arn:aws:iam::000000000000:user/hangar is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/ci/dev-codebuild-role")
	_, err = admin.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("dev-codebuild-role-by-name"), RoleSessionName: aws.String("s1")})
	wantErr(t, err, "ValidationError", 400, "Request ARN is invalid")

	// Session policies are checked and reported.
	_, err = admin.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("s1"), Policy: aws.String(`{"Statement":{"Effect":"Allow","Action":"s3:*"}}`)})
	wantErr(t, err, "MalformedPolicyDocument", 400, "Policy statement must contain resources.")
	var mal *ststypes.MalformedPolicyDocumentException
	if !errors.As(err, &mal) {
		t.Fatalf("the SDK does not see MalformedPolicyDocumentException: %T", err)
	}
	scoped, err := admin.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("scoped"),
		Policy:     aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"*"}}`),
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}}})
	if err != nil || aws.ToInt32(scoped.PackedPolicySize) <= 0 {
		t.Fatalf("scoped session = %+v, %v", scoped, err)
	}
	tc, err := e.DB.TempCredential(ctx, aws.ToString(scoped.Credentials.AccessKeyId))
	if err != nil || !strings.Contains(tc.Policy, "ssm:GetParameter") || len(tc.PolicyArns) != 1 || tc.SourceArn != "arn:aws:iam::000000000000:user/hangar" {
		t.Fatalf("stored session = %+v, %v", tc, err)
	}
	_, err = admin.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("s1"),
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/Nope")}}})
	wantErr(t, err, "MalformedPolicyDocument", 400, "Policy arn:aws:iam::aws:policy/Nope does not exist or is not attachable.")
	big := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", 3000) + `"}}`
	_, err = admin.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("s1"), Policy: aws.String(big)})
	wantErr(t, err, "PackedPolicyTooLarge", 400, "Packed policy consumes 151% of allotted space, please use smaller policy.")

	// Revoked credentials stop working at once.
	if err := e.STS.Revoke(ctx, aws.ToString(cr.AccessKeyId)); err != nil {
		t.Fatal(err)
	}
	_, err = awssts.NewFromConfig(sess).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	wantErr(t, err, "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
}

func TestTrustDecidesWhoMayAssume(t *testing.T) {
	ctx := context.Background()
	authorized := map[string]bool{}
	e := iamtest.New(t, iamtest.Options{Authorize: func(ctx context.Context, c awsapi.Caller, action, resource string) (bool, error) {
		return action == "sts:AssumeRole" && authorized[c.ARN+" "+resource], nil
	}})
	alice, aliceArn := userKeys(t, e, "alice")
	bob, bobArn := userKeys(t, e, "bob")
	serviceRole := mkRole(t, e, "service-role", codebuildTrust, 3600)
	aliceRole := mkRole(t, e, "alice-role", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+aliceArn+`"},"Action":"sts:AssumeRole"}]}`, 3600)
	accountRole := mkRole(t, e, "account-role", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}`, 3600)
	denyRole := mkRole(t, e, "deny-role", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}]}`, 3600)

	denied := func(c *awssts.Client, who, role string) {
		t.Helper()
		_, err := c.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("s1")})
		wantErr(t, err, "AccessDenied", 403, "User: "+who+" is not authorized to perform: sts:AssumeRole on resource: "+role)
	}
	ok := func(c *awssts.Client, role string) *awssts.AssumeRoleOutput {
		t.Helper()
		out, err := c.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("s1")})
		if err != nil {
			t.Fatalf("assume %s: %v", role, err)
		}
		return out
	}
	denied(alice, aliceArn, serviceRole)
	ok(alice, aliceRole)
	denied(bob, bobArn, aliceRole)
	// Trusting the account hands the decision to the caller's policies.
	denied(alice, aliceArn, accountRole)
	authorized[aliceArn+" "+accountRole] = true
	ok(alice, accountRole)
	denied(bob, bobArn, accountRole)
	ok(e.AdminSTS(), accountRole)
	// An explicit Deny wins, even for the admin.
	denied(e.AdminSTS(), "arn:aws:iam::000000000000:user/hangar", denyRole)

	// Role chaining: a session of alice-role assumes a role trusting it,
	// for an hour at most.
	chainRole := mkRole(t, e, "chain-role", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+aliceRole+`"},"Action":"sts:AssumeRole"}]}`, 43200)
	first := ok(alice, aliceRole).Credentials
	chained := awssts.NewFromConfig(e.Config(aws.ToString(first.AccessKeyId), aws.ToString(first.SecretAccessKey), aws.ToString(first.SessionToken)))
	_, err := chained.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(chainRole), RoleSessionName: aws.String("s2"), DurationSeconds: aws.Int32(7200)})
	wantErr(t, err, "ValidationError", 400, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	second := ok(chained, chainRole)
	if aws.ToString(second.AssumedRoleUser.Arn) != "arn:aws:sts::000000000000:assumed-role/chain-role/s1" {
		t.Fatalf("chained session = %+v", second.AssumedRoleUser)
	}
	tc, err := e.DB.TempCredential(ctx, aws.ToString(second.Credentials.AccessKeyId))
	if err != nil || tc.SourceArn != "arn:aws:sts::000000000000:assumed-role/alice-role/s1" {
		t.Fatalf("chained source = %+v, %v", tc, err)
	}
	denied(chained, "arn:aws:sts::000000000000:assumed-role/alice-role/s1", serviceRole)
}

func TestAssumeRoleForService(t *testing.T) {
	ctx := context.Background()
	e := iamtest.New(t, iamtest.Options{})
	roleArn := mkRole(t, e, "dev-codebuild-role", codebuildTrust, 3600)
	condRole := mkRole(t, e, "cond-role", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"000000000000"}}}]}`, 3600)

	s, err := e.STS.AssumeRoleForService(ctx, "dev-codebuild-role", "codebuild.amazonaws.com", "build-42", 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.AccessKeyID, "ASIA") || s.RoleArn != roleArn || s.AssumedRoleArn != "arn:aws:sts::000000000000:assumed-role/dev-codebuild-role/build-42" ||
		time.Until(s.Expiration) > 31*time.Minute || time.Until(s.Expiration) < 29*time.Minute {
		t.Fatalf("session = %+v", s)
	}
	who, err := awssts.NewFromConfig(e.Config(s.AccessKeyID, s.SecretAccessKey, s.SessionToken)).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != s.AssumedRoleArn {
		t.Fatalf("build identity = %+v, %v", who, err)
	}
	tc, _ := e.DB.TempCredential(ctx, s.AccessKeyID)
	if tc.SourceArn != "codebuild.amazonaws.com" {
		t.Fatalf("source = %q", tc.SourceArn)
	}
	for _, c := range []struct{ role, service string }{
		{roleArn, "lambda.amazonaws.com"},
		{condRole, "codebuild.amazonaws.com"}, // conditions cannot be evaluated yet: no
		{"arn:aws:iam::000000000000:role/missing", "codebuild.amazonaws.com"},
	} {
		_, err := e.STS.AssumeRoleForService(ctx, c.role, c.service, "b1", 0)
		e, ok := awsapi.AsError(err)
		if !ok || e.Code != "AccessDenied" {
			t.Fatalf("%s for %s: %v", c.role, c.service, err)
		}
	}
}

func TestExpiryAndPurge(t *testing.T) {
	ctx := context.Background()
	e := iamtest.New(t, iamtest.Options{})
	roleArn := mkRole(t, e, "r", codebuildTrust, 3600)
	// Issued 20 minutes ago for 15: expired 5 minutes ago by the clock
	// requests are verified with.
	e.Clock.Shift(-20 * time.Minute)
	out, err := e.AdminSTS().AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	cr := out.Credentials
	c := awssts.NewFromConfig(e.Config(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken)))
	_, err = c.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	wantErr(t, err, "ExpiredToken", 403, "The security token included in the request is expired")
	e.Clock.Shift(20 * time.Minute)
	// Kept for an hour after expiry, so clients are told why; then purged.
	if n, err := e.STS.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("purge within the grace period: %d, %v", n, err)
	}
	e.Clock.Shift(time.Hour)
	if n, err := e.STS.Purge(ctx); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	_, err = c.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	wantErr(t, err, "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
}

// TestCLIAssumeRole runs aws sts assume-role and get-caller-identity with
// the credentials it returns.
func TestCLIAssumeRole(t *testing.T) {
	t.Parallel()
	e := iamtest.New(t, iamtest.Options{})
	roleArn := mkRole(t, e, "dev-codebuild-role", codebuildTrust, 3600)
	out, stderr, code := e.AWS(t, iamtest.Admin(), t.TempDir(), "sts", "assume-role", "--role-arn", roleArn, "--role-session-name", "cli")
	if code != 0 {
		t.Fatalf("assume-role: %d %s", code, stderr)
	}
	var ar struct {
		Credentials     struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string }
		AssumedRoleUser struct{ Arn string }
	}
	if err := json.Unmarshal([]byte(out), &ar); err != nil {
		t.Fatal(err)
	}
	if _, err := time.Parse(time.RFC3339, ar.Credentials.Expiration); err != nil {
		t.Fatalf("expiration %q: %v", ar.Credentials.Expiration, err)
	}
	c := iamtest.Creds{ID: ar.Credentials.AccessKeyId, Secret: ar.Credentials.SecretAccessKey, Token: ar.Credentials.SessionToken}
	out, stderr, code = e.AWS(t, c, t.TempDir(), "sts", "get-caller-identity")
	if code != 0 || !strings.Contains(out, `"arn:aws:sts::000000000000:assumed-role/dev-codebuild-role/cli"`) {
		t.Fatalf("get-caller-identity as the session: %d %s %s", code, out, stderr)
	}
	_, stderr, code = e.AWS(t, iamtest.Admin(), t.TempDir(), "sts", "assume-role", "--role-arn", "arn:aws:iam::000000000000:role/nope", "--role-session-name", "cli")
	if code == 0 || !strings.Contains(stderr, "(AccessDenied)") || !strings.Contains(stderr, "is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/nope") {
		t.Fatalf("assume a missing role: %d %s", code, stderr)
	}
}

func TestAssumeRoleForServiceChecks(t *testing.T) {
	ctx := context.Background()
	e := iamtest.New(t, iamtest.Options{})
	mkRole(t, e, "r", codebuildTrust, 3600)
	for _, c := range []struct {
		session string
		d       time.Duration
	}{{"x", 0}, {"bad name", 0}, {strings.Repeat("a", 65), 0}, {"ok", 2 * time.Hour}, {"ok", time.Minute}} {
		_, err := e.STS.AssumeRoleForService(ctx, "r", "codebuild.amazonaws.com", c.session, c.d)
		if ae, ok := awsapi.AsError(err); !ok || ae.Code != "ValidationError" {
			t.Errorf("session %q for %v: %v", c.session, c.d, err)
		}
	}
	if _, err := e.STS.AssumeRoleForService(ctx, "r", "codebuild.amazonaws.com", "build:uuid-1", 0); err == nil {
		t.Error("':' is not allowed in session names")
	}
}

// Without authentication in front (development), the caller is the root.
func TestUnauthenticated(t *testing.T) {
	ctx := context.Background()
	e := iamtest.New(t, iamtest.Options{})
	who, err := e.STS.GetCallerIdentity(ctx, &struct{}{})
	if err != nil || who.Arn != "arn:aws:iam::000000000000:root" || who.UserId != "000000000000" {
		t.Fatalf("identity = %+v, %v", who, err)
	}
	roleArn := mkRole(t, e, "r", codebuildTrust, 3600)
	out, err := e.STS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: roleArn, RoleSessionName: "dev"})
	if err != nil || out.AssumedRoleUser.Arn != "arn:aws:sts::000000000000:assumed-role/r/dev" {
		t.Fatalf("assume = %+v, %v", out, err)
	}
	tc, err := e.DB.TempCredential(ctx, out.Credentials.AccessKeyId)
	if err != nil || tc.SourceArn != "arn:aws:iam::000000000000:root" {
		t.Fatalf("source = %+v, %v", tc, err)
	}
}
