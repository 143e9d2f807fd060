package iam_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/service/iam/iamtest"
	"github.com/hangarci/hangar/internal/store"
)

func TestUsersAndAccessKeys(t *testing.T) {
	ctx := context.Background()
	e := iamtest.New(t, iamtest.Options{})
	c := e.AdminIAM()

	cu, err := c.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("alice"), Path: aws.String("/dev/"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ci")}}})
	if err != nil {
		t.Fatal(err)
	}
	u := cu.User
	if aws.ToString(u.Arn) != "arn:aws:iam::000000000000:user/dev/alice" || !strings.HasPrefix(aws.ToString(u.UserId), "AIDA") ||
		len(aws.ToString(u.UserId)) != 21 || u.CreateDate == nil || len(u.Tags) != 1 {
		t.Fatalf("created user = %+v", u)
	}
	_, err = c.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("Alice")})
	wantErr(t, err, "EntityAlreadyExists", 409, "User with name Alice already exists.")
	// The runner's own user holds the admin keys; nobody may take its name.
	_, err = c.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("hangar")})
	wantErr(t, err, "EntityAlreadyExists", 409, "User with name hangar already exists.")
	gu, err := c.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("ALICE")})
	if err != nil || aws.ToString(gu.User.UserId) != aws.ToString(u.UserId) || aws.ToString(gu.User.UserName) != "alice" {
		t.Fatalf("get user = %+v, %v", gu, err)
	}
	_, err = c.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("bob")})
	wantErr(t, err, "NoSuchEntity", 404, "The user with name bob cannot be found.")
	// Without UserName: the caller, here the runner's own user.
	me, err := c.GetUser(ctx, &awsiam.GetUserInput{})
	if err != nil || aws.ToString(me.User.UserName) != "hangar" || aws.ToString(me.User.Arn) != "arn:aws:iam::000000000000:user/hangar" ||
		!strings.HasPrefix(aws.ToString(me.User.UserId), "AIDA") {
		t.Fatalf("get caller = %+v, %v", me, err)
	}
	runnerKeys, err := c.ListAccessKeys(ctx, &awsiam.ListAccessKeysInput{})
	if err != nil || len(runnerKeys.AccessKeyMetadata) != 1 || aws.ToString(runnerKeys.AccessKeyMetadata[0].AccessKeyId) != iamtest.AdminKeyID {
		t.Fatalf("runner keys = %+v, %v", runnerKeys, err)
	}
	_, err = c.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{})
	wantErr(t, err, "AccessDenied", 403, "The access keys of hangar are the runner's own (its credentials file); they cannot be changed through IAM.")
	_, err = c.DeleteAccessKey(ctx, &awsiam.DeleteAccessKeyInput{AccessKeyId: aws.String(iamtest.AdminKeyID)})
	wantErr(t, err, "AccessDenied", 403, "The access keys of hangar are the runner's own (its credentials file); they cannot be changed through IAM.")

	// Access keys: the secret comes back once and is stored sealed.
	var keys []*types.AccessKey
	for i := 0; i < 2; i++ {
		k, err := c.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("alice")})
		if err != nil {
			t.Fatal(err)
		}
		ak := k.AccessKey
		if !strings.HasPrefix(aws.ToString(ak.AccessKeyId), "AKIA") || len(aws.ToString(ak.AccessKeyId)) != 20 ||
			len(aws.ToString(ak.SecretAccessKey)) != 40 || ak.Status != types.StatusTypeActive || aws.ToString(ak.UserName) != "alice" {
			t.Fatalf("access key = %+v", ak)
		}
		keys = append(keys, ak)
	}
	_, err = c.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("alice")})
	wantErr(t, err, "LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")
	_, err = c.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("bob")})
	wantErr(t, err, "NoSuchEntity", 404, "The user with name bob cannot be found.")
	db := e.DBBytes(t)
	for _, k := range keys {
		if bytes.Contains(db, []byte(aws.ToString(k.SecretAccessKey))) {
			t.Fatal("an access key secret is in the database in the clear")
		}
	}
	lk, err := c.ListAccessKeys(ctx, &awsiam.ListAccessKeysInput{UserName: aws.String("alice")})
	if err != nil || len(lk.AccessKeyMetadata) != 2 || aws.ToString(lk.AccessKeyMetadata[0].AccessKeyId) != aws.ToString(keys[0].AccessKeyId) {
		t.Fatalf("list keys = %+v, %v", lk, err)
	}

	// alice's key signs as alice.
	alice := e.Config(aws.ToString(keys[0].AccessKeyId), aws.ToString(keys[0].SecretAccessKey), "")
	who, err := awssts.NewFromConfig(alice).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:iam::000000000000:user/dev/alice" || aws.ToString(who.UserId) != aws.ToString(u.UserId) ||
		aws.ToString(who.Account) != "000000000000" {
		t.Fatalf("alice is %+v, %v", who, err)
	}
	aliceIAM := awsiam.NewFromConfig(alice)
	self, err := aliceIAM.GetUser(ctx, &awsiam.GetUserInput{})
	if err != nil || aws.ToString(self.User.UserName) != "alice" {
		t.Fatalf("alice's GetUser = %+v, %v", self, err)
	}
	own, err := aliceIAM.ListAccessKeys(ctx, &awsiam.ListAccessKeysInput{})
	if err != nil || len(own.AccessKeyMetadata) != 2 {
		t.Fatalf("alice's keys = %+v, %v", own, err)
	}
	k, err := e.IAM.LookupAccessKey(ctx, aws.ToString(keys[0].AccessKeyId))
	if err != nil || k.Caller.Admin || k.Caller.UserName != "alice" || k.SecretAccessKey != aws.ToString(keys[0].SecretAccessKey) {
		t.Fatalf("lookup = %+v, %v", k, err)
	}
	if _, err := e.IAM.LookupAccessKey(ctx, iamtest.AdminKeyID); !errors.Is(err, awsapi.ErrUnknownAccessKey) {
		t.Fatalf("the runner's key is not an IAM user's: %v", err)
	}

	// An inactive key signs nothing.
	if _, err := c.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: keys[0].AccessKeyId, Status: types.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	_, err = awssts.NewFromConfig(alice).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	wantErr(t, err, "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
	_, err = c.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: keys[0].AccessKeyId, Status: types.StatusTypeExpired})
	wantErr(t, err, "ValidationError", 400, "1 validation error detected: Value 'Expired' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]")
	_, err = c.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String("AKIANOSUCHKEY0000000"), Status: types.StatusTypeActive})
	wantErr(t, err, "NoSuchEntity", 404, "The Access Key with id AKIANOSUCHKEY0000000 cannot be found.")
	lk, _ = c.ListAccessKeys(ctx, &awsiam.ListAccessKeysInput{UserName: aws.String("alice")})
	if lk.AccessKeyMetadata[0].Status != types.StatusTypeInactive {
		t.Fatalf("status = %s", lk.AccessKeyMetadata[0].Status)
	}

	// Inline and managed policies of users.
	if _, err := c.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p"), PolicyDocument: aws.String(defaultPolicy)}); err != nil {
		t.Fatal(err)
	}
	gp, err := c.GetUserPolicy(ctx, &awsiam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p")})
	if err != nil || decode(t, gp.PolicyDocument) != defaultPolicy {
		t.Fatalf("user policy = %+v, %v", gp, err)
	}
	_, err = c.GetUserPolicy(ctx, &awsiam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("q")})
	wantErr(t, err, "NoSuchEntity", 404, "The user policy with name q cannot be found.")
	_, err = c.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("p"), PolicyDocument: aws.String(defaultPolicy)})
	wantErr(t, err, "NoSuchEntity", 404, "The user with name bob cannot be found.")
	big := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", 2000) + `"}}`
	_, err = c.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("big"), PolicyDocument: aws.String(big)})
	wantErr(t, err, "LimitExceeded", 409, "Maximum policy size of 2048 bytes exceeded for user alice")
	lp, err := c.ListUserPolicies(ctx, &awsiam.ListUserPoliciesInput{UserName: aws.String("alice")})
	if err != nil || fmt.Sprint(lp.PolicyNames) != "[p]" {
		t.Fatalf("user policies = %+v, %v", lp, err)
	}
	if _, err := c.AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("arn:aws:iam::aws:policy/Nope")})
	wantErr(t, err, "NoSuchEntity", 404, "Policy arn:aws:iam::aws:policy/Nope does not exist or is not attachable.")
	la, err := c.ListAttachedUserPolicies(ctx, &awsiam.ListAttachedUserPoliciesInput{UserName: aws.String("alice")})
	if err != nil || len(la.AttachedPolicies) != 1 || aws.ToString(la.AttachedPolicies[0].PolicyName) != "ReadOnlyAccess" {
		t.Fatalf("attached = %+v, %v", la, err)
	}
	docs, err := e.IAM.UserPolicies(ctx, "alice")
	if err != nil || len(docs) != 2 || docs[0].Name != "p" || docs[1].PolicyArn != "arn:aws:iam::aws:policy/ReadOnlyAccess" {
		t.Fatalf("user documents = %+v, %v", docs, err)
	}
	if _, err := e.IAM.UserPolicies(ctx, "hangar"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the runner's user has no IAM policies: %v", err)
	}

	// ListUsers pages.
	for _, n := range []string{"carol", "bob"} {
		if _, err := c.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	p := awsiam.NewListUsersPaginator(c, &awsiam.ListUsersInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range pg.Users {
			names = append(names, aws.ToString(u.UserName))
		}
	}
	if fmt.Sprint(names) != "[alice bob carol]" {
		t.Fatalf("users = %v", names)
	}
	dev, err := c.ListUsers(ctx, &awsiam.ListUsersInput{PathPrefix: aws.String("/dev/")})
	if err != nil || len(dev.Users) != 1 {
		t.Fatalf("users under /dev/ = %+v, %v", dev, err)
	}

	// DeleteUser: attached policies, inline policies, then keys, as IAM says.
	for _, want := range []string{
		"Cannot delete entity, must detach all policies first.",
		"Cannot delete entity, must delete policies first.",
		"Cannot delete entity, must delete access keys first.",
	} {
		_, err = c.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: aws.String("alice")})
		wantErr(t, err, "DeleteConflict", 409, want)
		switch {
		case strings.Contains(want, "detach"):
			_, err = c.DetachUserPolicy(ctx, &awsiam.DetachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
		case strings.Contains(want, "policies"):
			_, err = c.DeleteUserPolicy(ctx, &awsiam.DeleteUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p")})
		default:
			// Without UserName the key must be the caller's: the admin's
			// user does not own alice's keys.
			_, err = c.DeleteAccessKey(ctx, &awsiam.DeleteAccessKeyInput{AccessKeyId: keys[0].AccessKeyId})
			wantErr(t, err, "AccessDenied", 403, "The access keys of hangar are the runner's own (its credentials file); they cannot be changed through IAM.")
			_, err = c.DeleteAccessKey(ctx, &awsiam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: keys[0].AccessKeyId})
			wantErr(t, err, "NoSuchEntity", 404, "The Access Key with id "+aws.ToString(keys[0].AccessKeyId)+" cannot be found.")
			for _, k := range keys {
				if _, err = c.DeleteAccessKey(ctx, &awsiam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: k.AccessKeyId}); err != nil {
					break
				}
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: aws.String("alice")})
	wantErr(t, err, "NoSuchEntity", 404, "The user with name alice cannot be found.")
	_, err = awssts.NewFromConfig(e.Config(aws.ToString(keys[1].AccessKeyId), aws.ToString(keys[1].SecretAccessKey), "")).
		GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	wantErr(t, err, "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
}

// rawQuery sends a signed IAM Query request as written, for what the SDKs
// refuse to send (a missing required member), and returns status and body.
func rawQuery(t *testing.T, e *iamtest.Env, form string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", e.URL+"/", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(form))
	creds := aws.Credentials{AccessKeyID: iamtest.AdminKeyID, SecretAccessKey: iamtest.AdminSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The embedded model validates part of IAM; the service checks the other
// operations' members itself, with the same messages.
func TestValidationOutsideTheModel(t *testing.T) {
	e := iamtest.New(t, iamtest.Options{})
	cases := []struct{ form, msg string }{
		{"Action=PutUserPolicy&Version=2010-05-08&UserName=alice&PolicyName=p",
			"1 validation error detected: Value null at 'policyDocument' failed to satisfy constraint: Member must not be null"},
		{"Action=UpdateRole&Version=2010-05-08&RoleName=r&MaxSessionDuration=50000",
			"1 validation error detected: Value '50000' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200"},
		{"Action=ListPolicies&Version=2010-05-08&Scope=Mine&MaxItems=0",
			"2 validation errors detected: Value 'Mine' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]; Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"Action=GetPolicy&Version=2010-05-08&PolicyArn=short",
			"1 validation error detected: Value 'short' at 'policyArn' failed to satisfy constraint: Member must have length greater than or equal to 20"},
		{"Action=AttachUserPolicy&Version=2010-05-08&UserName=a%20b&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess",
			`1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"Action=CreatePolicy&Version=2010-05-08&PolicyName=p&PolicyDocument=%7B%E2%98%83%7D",
			`1 validation error detected: Value '{☃}' at 'policyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`},
	}
	for _, c := range cases {
		status, body := rawQuery(t, e, c.form)
		want := "<Code>ValidationError</Code><Message>" + xmlEscape(c.msg) + "</Message>"
		if status != 400 || !strings.Contains(body, want) || !strings.Contains(body, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">`) {
			t.Errorf("%s:\n%d %s\nwant %s", c.form, status, body, want)
		}
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
