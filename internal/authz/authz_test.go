package authz

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/seal"
	"github.com/hangarci/hangar/internal/service/codebuild"
	"github.com/hangarci/hangar/internal/service/iam"
	logsvc "github.com/hangarci/hangar/internal/service/logs"
	"github.com/hangarci/hangar/internal/service/s3"
	"github.com/hangarci/hangar/internal/service/secretsmanager"
	"github.com/hangarci/hangar/internal/service/ssm"
	"github.com/hangarci/hangar/internal/service/sts"
	"github.com/hangarci/hangar/internal/store"
)

var names = model.Names{Region: "us-east-1", Account: model.Account}

// TestEveryOperationMapped fails when an operation is served without a
// rule (it would be refused to every non-admin), or a rule names an
// operation nobody serves.
func TestEveryOperationMapped(t *testing.T) {
	served := map[string]bool{}
	for _, js := range []*awsapi.JSONService{
		codebuild.New(codebuild.Config{Names: names}).API(nil),
		logsvc.New(nil, names, nil),
		ssm.New(ssm.Config{Names: names}).API(nil),
		secretsmanager.New(secretsmanager.Config{Names: names}).API(nil),
	} {
		prefix, ok := jsonServices[js.TargetPrefix]
		if !ok {
			t.Fatalf("JSON service %s has no IAM prefix", js.TargetPrefix)
		}
		for _, op := range js.Operations() {
			served[prefix+":"+op] = true
		}
	}
	iamSvc, err := iam.New(iam.Config{Names: names})
	if err != nil {
		t.Fatal(err)
	}
	for _, api := range []func() (*awsapi.QueryService, error){iamSvc.API, sts.New(sts.Config{Names: names}).API} {
		q, err := api()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range q.Actions() {
			served[q.SigningName+":"+a] = true
		}
	}
	for _, op := range s3.Operations {
		served["s3:"+op] = true
	}
	for op := range served {
		ru, ok := rules[op]
		if !ok {
			t.Errorf("%s is served but has no authorisation rule", op)
			continue
		}
		if !ru.public && ru.delegated == "" && (ru.action == "" || ru.resources == nil) {
			t.Errorf("%s: rule has no action or resources", op)
		}
	}
	for op := range rules {
		if !served[op] {
			t.Errorf("rule %s names no served operation", op)
		}
	}
}

type fixture struct {
	t   *testing.T
	db  *store.DB
	iam *iam.Service
	sm  *secretsmanager.Service
	a   *Authorizer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := seal.LoadOrCreateKey(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	is, err := iam.New(iam.Config{DB: db, Sealer: key, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.New(secretsmanager.Config{DB: db, Sealer: key, Names: names})
	return &fixture{t: t, db: db, iam: is, sm: sm, a: New(Config{IAM: is, DB: db, Secrets: sm, Names: names})}
}

func (f *fixture) user(name string, docs ...string) awsapi.Caller {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: name}); err != nil {
		f.t.Fatal(err)
	}
	for i, d := range docs {
		if _, err := f.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: name, PolicyName: "p" + string(rune('0'+i)), PolicyDocument: d}); err != nil {
			f.t.Fatalf("put policy %s: %v", d, err)
		}
	}
	return awsapi.Caller{AccessKeyID: "AKIATEST" + name, AccountID: model.Account, UserName: name, ARN: names.UserArn("/", name)}
}

const codebuildTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// session makes a role with docs and a session of it (sessionPolicy "" for
// none), as STS would store it.
func (f *fixture) session(roleName, sessionPolicy string, docs ...string) awsapi.Caller {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: roleName, AssumeRolePolicyDocument: codebuildTrust}); err != nil {
		f.t.Fatal(err)
	}
	for i, d := range docs {
		if _, err := f.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: roleName, PolicyName: "p" + string(rune('0'+i)), PolicyDocument: d}); err != nil {
			f.t.Fatalf("put policy %s: %v", d, err)
		}
	}
	id := "ASIATEST" + strings.ToUpper(roleName)
	err := f.db.PutTempCredential(ctx, store.TempCredential{AccessKeyID: id, Secret: []byte("s"), SessionToken: []byte("t"),
		RoleArn: names.RoleArn("/", roleName), RoleID: "AROATEST", SessionName: "AWSCodeBuild-1", SourceArn: "codebuild.amazonaws.com",
		Policy: sessionPolicy, Created: time.Now(), Expires: time.Now().Add(time.Hour)})
	if err != nil {
		f.t.Fatal(err)
	}
	return awsapi.Caller{AccessKeyID: id, AccountID: model.Account, UserName: "AWSCodeBuild-1", ARN: names.AssumedRoleArn(roleName, "AWSCodeBuild-1")}
}

// jsonReq authorises a JSON request of c.
func (f *fixture) jsonReq(c awsapi.Caller, prefix, op, body string) *awsapi.Denial {
	f.t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("X-Amz-Target", prefix+"."+op)
	r = r.WithContext(awsapi.WithCaller(r.Context(), c))
	d, err := f.a.Request(r, awsapi.Operation{Protocol: awsapi.ProtocolJSON, Service: prefix, Name: op}, c)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) queryReq(c awsapi.Caller, service string, form url.Values) *awsapi.Denial {
	f.t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r = r.WithContext(awsapi.WithCaller(r.Context(), c))
	if err := r.ParseForm(); err != nil {
		f.t.Fatal(err)
	}
	d, err := f.a.Request(r, awsapi.Operation{Protocol: awsapi.ProtocolQuery, Service: service, Name: form.Get("Action")}, c)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) s3Req(c awsapi.Caller, method, target string, header http.Header) *awsapi.Denial {
	f.t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	r = r.WithContext(awsapi.WithCaller(r.Context(), c))
	d, err := f.a.Request(r, awsapi.Operation{Protocol: awsapi.ProtocolS3, Service: "s3"}, c)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func wantDenied(t *testing.T, d *awsapi.Denial, msg string) {
	t.Helper()
	if d == nil {
		t.Fatalf("allowed; want denied: %s", msg)
	}
	if d.Message() != msg {
		t.Fatalf("message:\n got %s\nwant %s", d.Message(), msg)
	}
}

func wantAllowed(t *testing.T, d *awsapi.Denial) {
	t.Helper()
	if d != nil {
		t.Fatalf("denied: %s", d.Message())
	}
}

func TestUserPolicies(t *testing.T) {
	f := newFixture(t)
	dev := f.user("dev",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:GetParameter*"],"Resource":"arn:aws:ssm:*:*:parameter/dev/*"},
		 {"Effect":"Deny","Action":"ssm:*","Resource":"arn:aws:ssm:*:*:parameter/dev/root*"}]}`)
	wantAllowed(t, f.jsonReq(dev, "AmazonSSM", "GetParameter", `{"Name":"/dev/db"}`))
	wantAllowed(t, f.jsonReq(dev, "AmazonSSM", "GetParameter", `{"Name":"arn:aws:ssm:us-east-1:000000000000:parameter/dev/db:3"}`))
	wantDenied(t, f.jsonReq(dev, "AmazonSSM", "GetParameter", `{"Name":"/prod/db"}`),
		"User: arn:aws:iam::000000000000:user/dev is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:us-east-1:000000000000:parameter/prod/db because no identity-based policy allows the ssm:GetParameter action")
	wantDenied(t, f.jsonReq(dev, "AmazonSSM", "GetParameter", `{"Name":"/dev/rootpw:2"}`),
		"User: arn:aws:iam::000000000000:user/dev is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:us-east-1:000000000000:parameter/dev/rootpw with an explicit deny in an identity-based policy")
	// Every resource of a batch must be allowed.
	if d := f.jsonReq(dev, "AmazonSSM", "GetParameters", `{"Names":["/dev/a","/prod/b"]}`); d == nil || d.Resource != names.ParameterArn("/prod/b") {
		t.Fatalf("GetParameters with one forbidden name: %+v", d)
	}
	// The service reads the last of members whose names fold together:
	// so must authorisation.
	if d := f.jsonReq(dev, "AmazonSSM", "GetParameter", `{"Name":"/dev/a","name":"/prod/b"}`); d == nil || d.Resource != names.ParameterArn("/prod/b") {
		t.Fatalf("smuggled member: %+v", d)
	}
	if d := f.jsonReq(dev, "AmazonSSM", "GetParameter", `{"Name":"/dev/a","NAMe":"/prod/b"}`); d == nil {
		t.Fatal("smuggled member with other case allowed")
	}
	// No name at all: only a caller allowed everywhere gets to the
	// service's validation error.
	if d := f.jsonReq(dev, "AmazonSSM", "GetParameters", `{}`); d == nil || d.Resource != "*" {
		t.Fatalf("GetParameters without names: %+v", d)
	}
	// Not an operation we map: refused.
	if d := f.jsonReq(dev, "AmazonSSM", "SendCommand", `{}`); d == nil {
		t.Fatal("unmapped operation allowed")
	}
	// A user without policies can still ask who it is, and nothing else.
	nobody := f.user("nobody")
	wantAllowed(t, f.queryReq(nobody, "sts", url.Values{"Action": {"GetCallerIdentity"}}))
	wantDenied(t, f.queryReq(nobody, "iam", url.Values{"Action": {"CreateRole"}, "RoleName": {"admin"}, "Path": {"/x/"}}),
		"User: arn:aws:iam::000000000000:user/nobody is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::000000000000:role/x/admin because no identity-based policy allows the iam:CreateRole action")
	// Managed policies count; AWS's ReadOnlyAccess reads but never writes.
	ro := f.user("ro")
	if _, err := f.iam.AttachUserPolicy(context.Background(), &iam.AttachUserPolicyInput{UserName: "ro", PolicyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess"}); err != nil {
		t.Fatal(err)
	}
	wantAllowed(t, f.jsonReq(ro, "CodeBuild_20161006", "BatchGetBuilds", `{"ids":["p:1","q:2"]}`))
	if d := f.jsonReq(ro, "CodeBuild_20161006", "StartBuild", `{"projectName":"p"}`); d == nil || d.Action != "codebuild:StartBuild" {
		t.Fatalf("read-only StartBuild: %+v", d)
	}
}

func TestPassRole(t *testing.T) {
	f := newFixture(t)
	cb := f.user("cb", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codebuild:*","Resource":"*"}]}`)
	if _, err := f.iam.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: "powerful", Path: ptr("/svc/"), AssumeRolePolicyDocument: codebuildTrust}); err != nil {
		t.Fatal(err)
	}
	wantDenied(t, f.jsonReq(cb, "CodeBuild_20161006", "CreateProject", `{"name":"p","serviceRole":"powerful"}`),
		"User: arn:aws:iam::000000000000:user/cb is not authorized to perform: iam:PassRole on resource: arn:aws:iam::000000000000:role/svc/powerful because no identity-based policy allows the iam:PassRole action")
	if d := f.jsonReq(cb, "CodeBuild_20161006", "StartBuild", `{"projectName":"p","serviceRoleOverride":"arn:aws:iam::000000000000:role/svc/powerful"}`); d == nil || d.Action != "iam:PassRole" {
		t.Fatalf("StartBuild with a role override: %+v", d)
	}
	wantAllowed(t, f.jsonReq(cb, "CodeBuild_20161006", "StartBuild", `{"projectName":"p"}`))
	pass := f.user("passer",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codebuild:*","Resource":"*"},
		  {"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"codebuild.amazonaws.com"}}}]}`)
	wantAllowed(t, f.jsonReq(pass, "CodeBuild_20161006", "CreateProject", `{"name":"p","serviceRole":"powerful"}`))
}

func TestSessions(t *testing.T) {
	f := newFixture(t)
	build := f.session("build", "",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:GetParameter","s3:GetObject"],"Resource":"*"}]}`)
	wantAllowed(t, f.jsonReq(build, "AmazonSSM", "GetParameter", `{"Name":"x"}`))
	wantDenied(t, f.jsonReq(build, "AmazonSSM", "GetParameters", `{"Names":["x"]}`),
		"User: arn:aws:sts::000000000000:assumed-role/build/AWSCodeBuild-1 is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:000000000000:parameter/x because no identity-based policy allows the ssm:GetParameters action")

	// A session policy narrows what the role allows.
	narrow := f.session("narrow", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/public/*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	wantAllowed(t, f.s3Req(narrow, http.MethodGet, "/bkt/public/x", nil))
	wantDenied(t, f.s3Req(narrow, http.MethodGet, "/bkt/private/x", nil),
		"User: arn:aws:sts::000000000000:assumed-role/narrow/AWSCodeBuild-1 is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::bkt/private/x because no session policy allows the s3:GetObject action")
	if d := f.s3Req(narrow, http.MethodPut, "/bkt/public/x", nil); d == nil || d.Action != "s3:PutObject" || d.PolicyType != "session" {
		t.Fatalf("PutObject through a read-only session policy: %+v", d)
	}

	// A revoked session (a build that ended) can do nothing more.
	if err := f.db.DeleteTempCredential(context.Background(), build.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if d := f.jsonReq(build, "AmazonSSM", "GetParameter", `{"Name":"x"}`); d == nil {
		t.Fatal("revoked session allowed")
	}
}

func TestS3Rules(t *testing.T) {
	f := newFixture(t)
	u := f.user("s3u", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bkt/${aws:username}/*"},
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::bkt","Condition":{"StringLike":{"s3:prefix":"s3u/*"}}}]}`)
	wantAllowed(t, f.s3Req(u, http.MethodGet, "/bkt/s3u/file", nil))
	wantAllowed(t, f.s3Req(u, http.MethodHead, "/bkt/s3u/file", nil))
	wantAllowed(t, f.s3Req(u, http.MethodPut, "/bkt/s3u/file?partNumber=1&uploadId=x", nil))
	wantDenied(t, f.s3Req(u, http.MethodGet, "/bkt/other/file", nil),
		"User: arn:aws:iam::000000000000:user/s3u is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::bkt/other/file because no identity-based policy allows the s3:GetObject action")
	// Encoded path tricks name the key the service would use.
	if d := f.s3Req(u, http.MethodGet, "/bkt/s3u/%2e%2e/other/file", nil); d != nil {
		t.Fatalf("key with %%2e%%2e is a key, not a path: %+v", d)
	}
	wantAllowed(t, f.s3Req(u, http.MethodGet, "/bkt?list-type=2&prefix=s3u/", nil))
	if d := f.s3Req(u, http.MethodGet, "/bkt?list-type=2&prefix=other/", nil); d == nil || d.Action != "s3:ListBucket" {
		t.Fatalf("listing another prefix: %+v", d)
	}
	// Copying needs GetObject on the source too.
	if d := f.s3Req(u, http.MethodPut, "/bkt/s3u/copy", http.Header{"X-Amz-Copy-Source": {"/bkt/other/file"}}); d == nil || d.Resource != "arn:aws:s3:::bkt/other/file" {
		t.Fatalf("copy from a forbidden source: %+v", d)
	}
	wantAllowed(t, f.s3Req(u, http.MethodPut, "/bkt/s3u/copy", http.Header{"X-Amz-Copy-Source": {"/bkt/s3u/file"}}))
	if d := f.s3Req(u, http.MethodPut, "/newbucket", nil); d == nil || d.Action != "s3:CreateBucket" {
		t.Fatalf("CreateBucket: %+v", d)
	}
}

func TestSecretsAndLogs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: "app/db", SecretString: ptr("pw"), ClientRequestToken: "00000000-0000-4000-8000-000000000001"}); err != nil {
		t.Fatal(err)
	}
	arn, err := f.sm.SecretARN(ctx, "app/db")
	if err != nil || !strings.HasPrefix(arn, "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-") || len(arn) != len("arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-")+6 {
		t.Fatalf("SecretARN = %q, %v", arn, err)
	}
	u := f.user("sec", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:app/db-??????"},
		{"Effect":"Allow","Action":"secretsmanager:CreateSecret","Resource":"arn:aws:secretsmanager:*:*:secret:app/*"},
		{"Effect":"Allow","Action":["logs:GetLogEvents","logs:FilterLogEvents"],"Resource":"arn:aws:logs:*:*:log-group:/aws/codebuild/mine:*"}]}`)
	wantAllowed(t, f.jsonReq(u, "secretsmanager", "GetSecretValue", `{"SecretId":"app/db"}`))
	wantAllowed(t, f.jsonReq(u, "secretsmanager", "GetSecretValue", `{"SecretId":"arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db"}`))
	if d := f.jsonReq(u, "secretsmanager", "GetSecretValue", `{"SecretId":"app/other"}`); d == nil || d.Resource != "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/other" {
		t.Fatalf("missing secret: %+v", d)
	}
	wantAllowed(t, f.jsonReq(u, "secretsmanager", "CreateSecret", `{"Name":"app/new"}`))
	if d := f.jsonReq(u, "secretsmanager", "DescribeSecret", `{"SecretId":"app/db"}`); d == nil || d.Resource != arn {
		t.Fatalf("DescribeSecret: %+v", d)
	}
	wantAllowed(t, f.jsonReq(u, "Logs_20140328", "GetLogEvents", `{"logGroupName":"/aws/codebuild/mine","logStreamName":"s"}`))
	wantAllowed(t, f.jsonReq(u, "Logs_20140328", "GetLogEvents", `{"logGroupIdentifier":"arn:aws:logs:us-east-1:000000000000:log-group:/aws/codebuild/mine:*","logStreamName":"s"}`))
	// A log group ARN without ":*" covers the group, not its streams.
	if d := f.jsonReq(u, "Logs_20140328", "FilterLogEvents", `{"logGroupName":"/aws/codebuild/mine"}`); d == nil || d.Resource != "arn:aws:logs:us-east-1:000000000000:log-group:/aws/codebuild/mine" {
		t.Fatalf("FilterLogEvents: %+v", d)
	}
	if d := f.jsonReq(u, "Logs_20140328", "GetLogEvents", `{"logGroupName":"/aws/codebuild/theirs","logStreamName":"s"}`); d == nil {
		t.Fatal("another project's log allowed")
	}
	if d := f.jsonReq(u, "Logs_20140328", "DescribeLogGroups", `{}`); d == nil || d.Resource != "arn:aws:logs:us-east-1:000000000000:log-group::log-stream:" {
		t.Fatalf("DescribeLogGroups: %+v", d)
	}
}

func TestAdminAndAnonymous(t *testing.T) {
	f := newFixture(t)
	ctx := awsapi.WithCaller(context.Background(), awsapi.Caller{ARN: names.UserArn("/", "hangar"), Admin: true})
	if d, err := f.a.CheckCaller(ctx, "iam:CreateRole", "*"); d != nil || err != nil {
		t.Fatalf("admin: %v %v", d, err)
	}
	if d, err := f.a.CheckCaller(context.Background(), "ssm:GetParameters", "*"); d == nil || err != nil {
		t.Fatalf("no caller must be denied: %v %v", d, err)
	}
	if m := (&awsapi.Denial{Principal: "p", Action: "a:B", Resource: "r", Explicit: true, PolicyType: "session"}).Message(); !strings.HasSuffix(m, "with an explicit deny in a session policy") {
		t.Fatal(m)
	}
}

func ptr[T any](v T) *T { return &v }
