package secretsmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

var (
	arnRE  = regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:000000000000:secret:(.+)-[A-Za-z0-9]{6}$`)
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

func create(t *testing.T, e *env, name, value string) *awssm.CreateSecretOutput {
	t.Helper()
	out, err := e.client.CreateSecret(context.Background(), &awssm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return out
}

func getString(t *testing.T, e *env, in *awssm.GetSecretValueInput) *awssm.GetSecretValueOutput {
	t.Helper()
	out, err := e.client.GetSecretValue(context.Background(), in)
	if err != nil {
		t.Fatalf("get %s: %v", aws.ToString(in.SecretId), err)
	}
	return out
}

func TestCreateAndGet(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	out := create(t, e, "prod/db", `{"user":"app","password":"pw-1"}`)
	m := arnRE.FindStringSubmatch(aws.ToString(out.ARN))
	if m == nil || m[1] != "prod/db" || aws.ToString(out.Name) != "prod/db" || !uuidRE.MatchString(aws.ToString(out.VersionId)) {
		t.Fatalf("create = ARN %s name %s version %s", aws.ToString(out.ARN), aws.ToString(out.Name), aws.ToString(out.VersionId))
	}
	partial := strings.TrimSuffix(aws.ToString(out.ARN), aws.ToString(out.ARN)[len(aws.ToString(out.ARN))-7:])
	for _, id := range []string{"prod/db", aws.ToString(out.ARN), partial} {
		got := getString(t, e, &awssm.GetSecretValueInput{SecretId: aws.String(id)})
		if aws.ToString(got.SecretString) != `{"user":"app","password":"pw-1"}` || got.SecretBinary != nil ||
			aws.ToString(got.VersionId) != aws.ToString(out.VersionId) || !slices.Equal(got.VersionStages, []string{"AWSCURRENT"}) ||
			aws.ToString(got.ARN) != aws.ToString(out.ARN) || got.CreatedDate == nil {
			t.Fatalf("get by %s = %+v", id, got)
		}
	}
	_, err := e.client.GetSecretValue(ctx, &awssm.GetSecretValueInput{SecretId: aws.String(aws.ToString(out.ARN) + "x")})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("wrong suffix: %v", err)
	}
	wantAPIError(t, err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	_, err = e.client.GetSecretValue(ctx, &awssm.GetSecretValueInput{SecretId: aws.String("arn:aws:secretsmanager:eu-west-1:000000000000:secret:prod/db")})
	wantAPIError(t, err, "ResourceNotFoundException", "can't find the specified secret.")

	bin := []byte{0, 1, 2, 0xff, 'b', 'i', 'n'}
	bout, err := e.client.CreateSecret(ctx, &awssm.CreateSecretInput{Name: aws.String("bin"), SecretBinary: bin, Description: aws.String("binary one")})
	if err != nil {
		t.Fatal(err)
	}
	got := getString(t, e, &awssm.GetSecretValueInput{SecretId: bout.ARN})
	if !bytes.Equal(got.SecretBinary, bin) || got.SecretString != nil {
		t.Fatalf("binary = %v / %v", got.SecretBinary, got.SecretString)
	}
}

func TestCreateErrorsAndIdempotency(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const token = "11111111-2222-3333-4444-555555555555"
	in := &awssm.CreateSecretInput{Name: aws.String("idem"), SecretString: aws.String("v1"), ClientRequestToken: aws.String(token)}
	first, err := e.client.CreateSecret(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(first.VersionId) != token {
		t.Fatalf("VersionId %s, want the token", aws.ToString(first.VersionId))
	}
	again, err := e.client.CreateSecret(ctx, in)
	if err != nil || aws.ToString(again.ARN) != aws.ToString(first.ARN) || aws.ToString(again.VersionId) != token {
		t.Fatalf("retried create = %+v, %v", again, err)
	}
	_, err = e.client.CreateSecret(ctx, &awssm.CreateSecretInput{Name: aws.String("idem"), SecretString: aws.String("v2"), ClientRequestToken: aws.String(token)})
	wantAPIError(t, err, "ResourceExistsException", "You can't use ClientRequestToken "+token+" because that value is already in use for a version of secret "+aws.ToString(first.ARN))
	_, err = e.client.CreateSecret(ctx, &awssm.CreateSecretInput{Name: aws.String("idem"), SecretString: aws.String("v1")})
	var ree *types.ResourceExistsException
	if !errors.As(err, &ree) {
		t.Fatalf("second create: %v", err)
	}
	wantAPIError(t, err, "ResourceExistsException", "The operation failed because the secret idem already exists.")

	for _, c := range []struct {
		in        awssm.CreateSecretInput
		code, msg string
	}{
		{awssm.CreateSecretInput{Name: aws.String("both"), SecretString: aws.String("a"), SecretBinary: []byte("b")}, "InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret."},
		{awssm.CreateSecretInput{Name: aws.String("bad name")}, "ValidationException", "Invalid name. Must be a valid name containing alphanumeric characters"},
		{awssm.CreateSecretInput{Name: aws.String("bad:name")}, "ValidationException", "Invalid name"},
		{awssm.CreateSecretInput{Name: aws.String("big"), SecretString: aws.String(strings.Repeat("x", 65537))}, "ValidationException", "65536"},
		{awssm.CreateSecretInput{Name: aws.String("tok"), SecretString: aws.String("x"), ClientRequestToken: aws.String("short")}, "ValidationException", "clientRequestToken"},
	} {
		_, err := e.client.CreateSecret(ctx, &c.in)
		wantAPIError(t, err, c.code, c.msg)
	}
	list, _ := e.client.ListSecrets(ctx, &awssm.ListSecretsInput{})
	if len(list.SecretList) != 1 {
		t.Fatalf("refused creates left %d secrets", len(list.SecretList))
	}

	// A raw request must carry the token the SDKs fill in.
	req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader(`{"Name":"raw","SecretString":"x"}`))
	req.Header.Set("X-Amz-Target", "secretsmanager.CreateSecret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "InvalidRequestException") || !strings.Contains(string(body), "ClientRequestToken") {
		t.Fatalf("raw create without token: %d %s", resp.StatusCode, body)
	}
}

func TestVersionsAndStages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := create(t, e, "rot", "one")
	v1 := aws.ToString(c.VersionId)
	p2, err := e.client.PutSecretValue(ctx, &awssm.PutSecretValueInput{SecretId: aws.String("rot"), SecretString: aws.String("two")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p2.VersionStages, []string{"AWSCURRENT"}) || aws.ToString(p2.ARN) != aws.ToString(c.ARN) {
		t.Fatalf("put = %+v", p2)
	}
	v2 := aws.ToString(p2.VersionId)
	p3, err := e.client.PutSecretValue(ctx, &awssm.PutSecretValueInput{SecretId: c.ARN, SecretString: aws.String("three")})
	if err != nil {
		t.Fatal(err)
	}
	v3 := aws.ToString(p3.VersionId)
	stagesOf := func() map[string][]string {
		d, err := e.client.DescribeSecret(ctx, &awssm.DescribeSecretInput{SecretId: aws.String("rot")})
		if err != nil {
			t.Fatal(err)
		}
		return d.VersionIdsToStages
	}
	if got := stagesOf(); fmt.Sprint(got) != fmt.Sprint(map[string][]string{v2: {"AWSPREVIOUS"}, v3: {"AWSCURRENT"}}) {
		t.Fatalf("stages after three puts = %v (v1 %s v2 %s v3 %s)", got, v1, v2, v3)
	}
	if g := getString(t, e, &awssm.GetSecretValueInput{SecretId: aws.String("rot")}); aws.ToString(g.SecretString) != "three" {
		t.Fatalf("current = %q", aws.ToString(g.SecretString))
	}
	if g := getString(t, e, &awssm.GetSecretValueInput{SecretId: aws.String("rot"), VersionStage: aws.String("AWSPREVIOUS")}); aws.ToString(g.SecretString) != "two" {
		t.Fatalf("previous = %q", aws.ToString(g.SecretString))
	}
	if g := getString(t, e, &awssm.GetSecretValueInput{SecretId: aws.String("rot"), VersionId: aws.String(v1)}); aws.ToString(g.SecretString) != "one" || len(g.VersionStages) != 0 {
		t.Fatalf("v1 = %+v", g)
	}

	// A pending version does not move AWSCURRENT.
	p4, err := e.client.PutSecretValue(ctx, &awssm.PutSecretValueInput{SecretId: aws.String("rot"), SecretString: aws.String("four"), VersionStages: []string{"AWSPENDING"}})
	if err != nil || !slices.Equal(p4.VersionStages, []string{"AWSPENDING"}) {
		t.Fatalf("pending put = %+v, %v", p4, err)
	}
	if g := getString(t, e, &awssm.GetSecretValueInput{SecretId: aws.String("rot")}); aws.ToString(g.SecretString) != "three" {
		t.Fatal("AWSPENDING moved AWSCURRENT")
	}
	if g := getString(t, e, &awssm.GetSecretValueInput{SecretId: aws.String("rot"), VersionStage: aws.String("AWSPENDING")}); aws.ToString(g.SecretString) != "four" {
		t.Fatal("AWSPENDING not found")
	}
	// A retried put is harmless; a reused token with another value is not.
	same, err := e.client.PutSecretValue(ctx, &awssm.PutSecretValueInput{SecretId: aws.String("rot"), SecretString: aws.String("four"), ClientRequestToken: p4.VersionId})
	if err != nil || aws.ToString(same.VersionId) != aws.ToString(p4.VersionId) {
		t.Fatalf("retried put = %+v, %v", same, err)
	}
	_, err = e.client.PutSecretValue(ctx, &awssm.PutSecretValueInput{SecretId: aws.String("rot"), SecretString: aws.String("other"), ClientRequestToken: p4.VersionId})
	wantAPIError(t, err, "ResourceExistsException", "already in use")

	for _, c := range []struct {
		in        awssm.GetSecretValueInput
		code, msg string
	}{
		{awssm.GetSecretValueInput{SecretId: aws.String("rot"), VersionId: aws.String(v1), VersionStage: aws.String("AWSCURRENT")}, "InvalidRequestException", "You provided a VersionStage that is not associated to the provided VersionId."},
		{awssm.GetSecretValueInput{SecretId: aws.String("rot"), VersionId: aws.String("00000000-0000-0000-0000-000000000000")}, "ResourceNotFoundException", "for VersionId: 00000000-0000-0000-0000-000000000000"},
		{awssm.GetSecretValueInput{SecretId: aws.String("rot"), VersionStage: aws.String("NOPE")}, "ResourceNotFoundException", "for staging label: NOPE"},
		{awssm.GetSecretValueInput{SecretId: aws.String("nope")}, "ResourceNotFoundException", "can't find the specified secret."},
	} {
		_, err := e.client.GetSecretValue(ctx, &c.in)
		wantAPIError(t, err, c.code, c.msg)
	}
	_, err = e.client.PutSecretValue(ctx, &awssm.PutSecretValueInput{SecretId: aws.String("nope"), SecretString: aws.String("x")})
	wantAPIError(t, err, "ResourceNotFoundException", "can't find the specified secret.")
	_, err = e.client.PutSecretValue(ctx, &awssm.PutSecretValueInput{SecretId: aws.String("rot")})
	wantAPIError(t, err, "InvalidRequestException", "You must provide either SecretString or SecretBinary.")

	// A secret created without a value has no AWSCURRENT until one is put;
	// its first value is current whatever the labels.
	if _, err := e.client.CreateSecret(ctx, &awssm.CreateSecretInput{Name: aws.String("empty")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetSecretValue(ctx, &awssm.GetSecretValueInput{SecretId: aws.String("empty")})
	wantAPIError(t, err, "ResourceNotFoundException", "for staging label: AWSCURRENT")
	pe, err := e.client.PutSecretValue(ctx, &awssm.PutSecretValueInput{SecretId: aws.String("empty"), SecretString: aws.String("first"), VersionStages: []string{"AWSPENDING"}})
	if err != nil || !slices.Contains(pe.VersionStages, "AWSCURRENT") {
		t.Fatalf("first put = %+v, %v", pe, err)
	}
}

func TestDescribeUpdate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c, err := e.client.CreateSecret(ctx, &awssm.CreateSecretInput{Name: aws.String("d"), SecretString: aws.String("v"),
		Description: aws.String("first"), KmsKeyId: aws.String("alias/mine"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ci")}}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.client.DescribeSecret(ctx, &awssm.DescribeSecretInput{SecretId: aws.String("d")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.Description) != "first" || aws.ToString(d.KmsKeyId) != "alias/mine" || len(d.Tags) != 1 ||
		d.CreatedDate == nil || d.LastChangedDate == nil || d.LastAccessedDate != nil || d.DeletedDate != nil ||
		fmt.Sprint(d.VersionIdsToStages) != fmt.Sprint(map[string][]string{aws.ToString(c.VersionId): {"AWSCURRENT"}}) {
		t.Fatalf("describe = %+v", d)
	}
	getString(t, e, &awssm.GetSecretValueInput{SecretId: aws.String("d")})
	d, _ = e.client.DescribeSecret(ctx, &awssm.DescribeSecretInput{SecretId: aws.String("d")})
	if d.LastAccessedDate == nil || d.LastAccessedDate.After(time.Now()) || time.Since(*d.LastAccessedDate) > 25*time.Hour {
		t.Fatalf("LastAccessedDate = %v", d.LastAccessedDate)
	}

	u, err := e.client.UpdateSecret(ctx, &awssm.UpdateSecretInput{SecretId: aws.String("d"), Description: aws.String("second")})
	if err != nil || u.VersionId != nil || aws.ToString(u.ARN) != aws.ToString(c.ARN) {
		t.Fatalf("update description = %+v, %v", u, err)
	}
	u, err = e.client.UpdateSecret(ctx, &awssm.UpdateSecretInput{SecretId: c.ARN, SecretString: aws.String("v2")})
	if err != nil || u.VersionId == nil {
		t.Fatalf("update value = %+v, %v", u, err)
	}
	g := getString(t, e, &awssm.GetSecretValueInput{SecretId: aws.String("d")})
	if aws.ToString(g.SecretString) != "v2" || aws.ToString(g.VersionId) != aws.ToString(u.VersionId) {
		t.Fatalf("after update = %+v", g)
	}
	d, _ = e.client.DescribeSecret(ctx, &awssm.DescribeSecretInput{SecretId: aws.String("d")})
	if aws.ToString(d.Description) != "second" || len(d.VersionIdsToStages) != 2 {
		t.Fatalf("describe after update = %+v", d)
	}
	_, err = e.client.UpdateSecret(ctx, &awssm.UpdateSecretInput{SecretId: aws.String("nope"), Description: aws.String("x")})
	wantAPIError(t, err, "ResourceNotFoundException", "can't find")
	_, err = e.client.DescribeSecret(ctx, &awssm.DescribeSecretInput{SecretId: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", "can't find")
}

func TestListSecrets(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	for i, n := range []string{"app/dev/db", "app/dev/api", "app/prod/db", "other"} {
		_, err := e.client.CreateSecret(ctx, &awssm.CreateSecretInput{Name: aws.String(n), SecretString: aws.String("v"),
			Description: aws.String("Secret " + strings.ToUpper(n)), Tags: []types.Tag{{Key: aws.String("env-" + strings.Split(n, "/")[0]), Value: aws.String(fmt.Sprint(i))}}})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Second)
	}
	list := func(in *awssm.ListSecretsInput) []string {
		t.Helper()
		var out []string
		pg := awssm.NewListSecretsPaginator(e.client, in)
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.SecretList {
				if len(s.SecretVersionsToStages) != 1 || s.CreatedDate == nil {
					t.Errorf("entry %+v", s)
				}
				out = append(out, aws.ToString(s.Name))
			}
		}
		return out
	}
	f := func(key types.FilterNameStringType, values ...string) []types.Filter {
		return []types.Filter{{Key: key, Values: values}}
	}
	cases := []struct {
		in   awssm.ListSecretsInput
		want []string
	}{
		{awssm.ListSecretsInput{MaxResults: aws.Int32(1)}, []string{"app/dev/db", "app/dev/api", "app/prod/db", "other"}},
		{awssm.ListSecretsInput{MaxResults: aws.Int32(3), SortBy: types.SortByTypeName}, []string{"app/dev/api", "app/dev/db", "app/prod/db", "other"}},
		{awssm.ListSecretsInput{MaxResults: aws.Int32(2), SortOrder: types.SortOrderTypeDesc}, []string{"other", "app/prod/db", "app/dev/api", "app/dev/db"}},
		{awssm.ListSecretsInput{Filters: f(types.FilterNameStringTypeName, "app/dev")}, []string{"app/dev/db", "app/dev/api"}},
		{awssm.ListSecretsInput{Filters: f(types.FilterNameStringTypeName, "App")}, nil},
		{awssm.ListSecretsInput{Filters: f(types.FilterNameStringTypeDescription, "secret app/p")}, []string{"app/prod/db"}},
		{awssm.ListSecretsInput{Filters: f(types.FilterNameStringTypeTagKey, "env-o")}, []string{"other"}},
		{awssm.ListSecretsInput{Filters: f(types.FilterNameStringTypeTagValue, "1", "2")}, []string{"app/dev/api", "app/prod/db"}},
		{awssm.ListSecretsInput{Filters: f(types.FilterNameStringTypeName, "!app")}, []string{"other"}},
		{awssm.ListSecretsInput{Filters: f(types.FilterNameStringTypeAll, "PROD")}, []string{"app/prod/db"}},
		{awssm.ListSecretsInput{Filters: append(f(types.FilterNameStringTypeName, "app"), f(types.FilterNameStringTypeDescription, "secret app/dev/d")...)}, []string{"app/dev/db"}},
	}
	for i, c := range cases {
		if got := list(&c.in); !slices.Equal(got, c.want) {
			t.Errorf("case %d: %q, want %q", i, got, c.want)
		}
	}
	_, err := e.client.ListSecrets(ctx, &awssm.ListSecretsInput{NextToken: aws.String("!!")})
	wantAPIError(t, err, "InvalidNextTokenException", "")
	_, err = e.client.ListSecrets(ctx, &awssm.ListSecretsInput{MaxResults: aws.Int32(101)})
	wantAPIError(t, err, "ValidationException", "maxResults")
}

func TestDeleteRestore(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := create(t, e, "gone", "v")
	for _, in := range []awssm.DeleteSecretInput{
		{SecretId: aws.String("gone"), RecoveryWindowInDays: aws.Int64(6)},
		{SecretId: aws.String("gone"), RecoveryWindowInDays: aws.Int64(31)},
	} {
		_, err := e.client.DeleteSecret(ctx, &in)
		wantAPIError(t, err, "InvalidParameterException", "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
	}
	_, err := e.client.DeleteSecret(ctx, &awssm.DeleteSecretInput{SecretId: aws.String("gone"), RecoveryWindowInDays: aws.Int64(7), ForceDeleteWithoutRecovery: aws.Bool(true)})
	wantAPIError(t, err, "InvalidParameterException", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	_, err = e.client.DeleteSecret(ctx, &awssm.DeleteSecretInput{SecretId: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", "can't find")

	now := e.clock.Now()
	d, err := e.client.DeleteSecret(ctx, &awssm.DeleteSecretInput{SecretId: aws.String("gone")})
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(30 * 24 * time.Hour); d.DeletionDate == nil || d.DeletionDate.Sub(want).Abs() > time.Second || aws.ToString(d.ARN) != aws.ToString(c.ARN) {
		t.Fatalf("delete = %+v, want deletion at %v", d, want)
	}
	const marked = "You can't perform this operation on the secret because it was marked for deletion."
	_, err = e.client.GetSecretValue(ctx, &awssm.GetSecretValueInput{SecretId: aws.String("gone")})
	var ire *types.InvalidRequestException
	if !errors.As(err, &ire) {
		t.Fatalf("get deleted: %v", err)
	}
	wantAPIError(t, err, "InvalidRequestException", marked)
	_, err = e.client.PutSecretValue(ctx, &awssm.PutSecretValueInput{SecretId: aws.String("gone"), SecretString: aws.String("x")})
	wantAPIError(t, err, "InvalidRequestException", marked)
	_, err = e.client.UpdateSecret(ctx, &awssm.UpdateSecretInput{SecretId: aws.String("gone"), Description: aws.String("x")})
	wantAPIError(t, err, "InvalidRequestException", marked)
	_, err = e.client.DeleteSecret(ctx, &awssm.DeleteSecretInput{SecretId: aws.String("gone")})
	wantAPIError(t, err, "InvalidRequestException", "marked deleted")
	_, err = e.client.CreateSecret(ctx, &awssm.CreateSecretInput{Name: aws.String("gone"), SecretString: aws.String("new")})
	wantAPIError(t, err, "InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
	desc, err := e.client.DescribeSecret(ctx, &awssm.DescribeSecretInput{SecretId: aws.String("gone")})
	if err != nil || desc.DeletedDate == nil {
		t.Fatalf("describe deleted = %+v, %v", desc, err)
	}
	if l, _ := e.client.ListSecrets(ctx, &awssm.ListSecretsInput{}); len(l.SecretList) != 0 {
		t.Fatal("a deleted secret is listed")
	}
	if l, _ := e.client.ListSecrets(ctx, &awssm.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true)}); len(l.SecretList) != 1 || l.SecretList[0].DeletedDate == nil {
		t.Fatal("IncludePlannedDeletion does not list a deleted secret")
	}

	r, err := e.client.RestoreSecret(ctx, &awssm.RestoreSecretInput{SecretId: aws.String("gone")})
	if err != nil || aws.ToString(r.ARN) != aws.ToString(c.ARN) {
		t.Fatalf("restore = %+v, %v", r, err)
	}
	if g := getString(t, e, &awssm.GetSecretValueInput{SecretId: aws.String("gone")}); aws.ToString(g.SecretString) != "v" {
		t.Fatal("restored secret lost its value")
	}
	_, err = e.client.RestoreSecret(ctx, &awssm.RestoreSecretInput{SecretId: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", "can't find")

	// The recovery window passes: the secret is gone and its name free.
	if _, err := e.client.DeleteSecret(ctx, &awssm.DeleteSecretInput{SecretId: aws.String("gone"), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(7*24*time.Hour + time.Minute)
	_, err = e.client.DescribeSecret(ctx, &awssm.DescribeSecretInput{SecretId: aws.String("gone")})
	wantAPIError(t, err, "ResourceNotFoundException", "can't find")
	c2 := create(t, e, "gone", "new")
	if aws.ToString(c2.ARN) == aws.ToString(c.ARN) {
		t.Fatal("a recreated secret kept the old ARN")
	}

	// Forced deletion is immediate, and forcing the deletion of nothing is fine.
	f, err := e.client.DeleteSecret(ctx, &awssm.DeleteSecretInput{SecretId: aws.String("gone"), ForceDeleteWithoutRecovery: aws.Bool(true)})
	if err != nil || aws.ToString(f.ARN) != aws.ToString(c2.ARN) {
		t.Fatalf("force delete = %+v, %v", f, err)
	}
	_, err = e.client.GetSecretValue(ctx, &awssm.GetSecretValueInput{SecretId: aws.String("gone")})
	wantAPIError(t, err, "ResourceNotFoundException", "can't find")
	if f, err = e.client.DeleteSecret(ctx, &awssm.DeleteSecretInput{SecretId: aws.String("never"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil || aws.ToString(f.Name) != "never" {
		t.Fatalf("force delete of nothing = %+v, %v", f, err)
	}
}

func TestWireShapes(t *testing.T) {
	e := newEnv(t)
	create(t, e, "w", "wire-secret")
	call := func(op, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "secretsmanager."+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if (op == "DescribeSecret" || op == "ListSecrets") && bytes.Contains(raw, []byte("wire-secret")) {
			t.Errorf("%s response holds the value: %s", op, raw)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v: %s", op, err, raw)
		}
		return m
	}
	g := call("GetSecretValue", `{"SecretId":"w"}`)
	if _, ok := g["CreatedDate"].(float64); !ok {
		t.Errorf("CreatedDate = %#v", g["CreatedDate"])
	}
	d := call("DescribeSecret", `{"SecretId":"w"}`)
	for _, k := range []string{"CreatedDate", "LastChangedDate", "LastAccessedDate"} {
		if _, ok := d[k].(float64); !ok {
			t.Errorf("%s = %#v", k, d[k])
		}
	}
	if _, ok := d["SecretVersionsToStages"]; ok {
		t.Error("DescribeSecret sends ListSecrets' stage map")
	}
	l := call("ListSecrets", `{}`)["SecretList"].([]any)[0].(map[string]any)
	if _, ok := l["VersionIdsToStages"]; ok || l["SecretVersionsToStages"] == nil {
		t.Errorf("ListSecrets entry = %#v", l)
	}
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := create(t, e, "build/creds", `{"user":"ci","password":"resolve-pw-1","port":5432,"nested":{"a":1},"nil":null}`)
	p, err := e.client.PutSecretValue(ctx, &awssm.PutSecretValueInput{SecretId: aws.String("build/creds"),
		SecretString: aws.String(`{"user":"ci","password":"resolve-pw-2"}`)})
	if err != nil {
		t.Fatal(err)
	}
	create(t, e, "plain", "resolve-plain-value")
	if _, err := e.client.CreateSecret(ctx, &awssm.CreateSecretInput{Name: aws.String("binary"), SecretBinary: []byte{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(c.ARN)
	partial := arn[:len(arn)-7]
	ok := map[string]string{
		"plain":                                              "resolve-plain-value",
		"build/creds:password":                               "resolve-pw-2",
		"build/creds:password:AWSPREVIOUS":                   "resolve-pw-1",
		"build/creds:port:AWSPREVIOUS":                       "5432",
		"build/creds:nested:AWSPREVIOUS":                     `{"a":1}`,
		"build/creds:nil:AWSPREVIOUS":                        "",
		"build/creds:user":                                   "ci",
		"build/creds::AWSCURRENT":                            `{"user":"ci","password":"resolve-pw-2"}`,
		"build/creds:password::" + aws.ToString(c.VersionId): "resolve-pw-1",
		"build/creds:password:AWSCURRENT:" + aws.ToString(p.VersionId): "resolve-pw-2",
		arn:                               `{"user":"ci","password":"resolve-pw-2"}`,
		arn + ":password":                 "resolve-pw-2",
		partial + ":user":                 "ci",
		partial + ":password:AWSPREVIOUS": "resolve-pw-1",
	}
	for ref, want := range ok {
		got, err := e.svc.Resolve(ctx, ref)
		if err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
	bad := []struct {
		ref      string
		notFound bool
		msg      string
	}{
		{"missing", true, "ResourceNotFoundException: Secrets Manager can't find the specified secret. (secret-id missing)"},
		{"missing:key", true, "(secret-id missing)"},
		{"build/creds:nokey", true, `secret build/creds has no key "nokey" in its JSON value`},
		{"plain:key", false, `secret plain: its value is not a JSON object, so key "key" cannot be looked up`},
		{"build/creds:user:AWSPENDING", true, "staging label: AWSPENDING"},
		{"build/creds:user::nope-version", true, "VersionId: nope-version"},
		{"binary", false, "binary value"},
		{"a:b:c:d:e", false, "want secret-id[:json-key[:version-stage[:version-id]]]"},
		{":key", false, "the secret id is empty"},
		{"arn:aws:s3:::bucket", false, "want secret-id[:json-key"},
		{"arn:aws:secretsmanager:us-east-1:000000000000:nosecret", false, "an ARN must be"},
	}
	for _, b := range bad {
		_, err := e.svc.Resolve(ctx, b.ref)
		if err == nil || !strings.Contains(err.Error(), b.msg) || errors.Is(err, ErrNotFound) != b.notFound {
			t.Errorf("Resolve(%q) err = %v; want %q (not found %v)", b.ref, err, b.msg, b.notFound)
		}
		if err != nil && strings.Contains(err.Error(), "resolve-p") {
			t.Errorf("Resolve(%q) error shows a value: %v", b.ref, err)
		}
	}
	if _, err := e.client.DeleteSecret(ctx, &awssm.DeleteSecretInput{SecretId: aws.String("plain")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Resolve(ctx, "plain"); err == nil || !strings.Contains(err.Error(), "marked for deletion") {
		t.Errorf("deleted secret: %v", err)
	}
	if strings.Contains(e.logs.String(), "resolve-p") {
		t.Error("a secret value reached the log")
	}
}

func TestNoPlaintextAtRest(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const s1, s2, bin = "at-rest-string-9c4e1b", "at-rest-string-2-77aa10", "at-rest-binary-31f0e2"
	const desc = "at-rest-description-5b6c"
	if _, err := e.client.CreateSecret(ctx, &awssm.CreateSecretInput{Name: aws.String("rest"), SecretString: aws.String(s1), Description: aws.String(desc)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UpdateSecret(ctx, &awssm.UpdateSecretInput{SecretId: aws.String("rest"), SecretString: aws.String(s2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateSecret(ctx, &awssm.CreateSecretInput{Name: aws.String("rest-bin"), SecretBinary: []byte(bin)}); err != nil {
		t.Fatal(err)
	}
	getString(t, e, &awssm.GetSecretValueInput{SecretId: aws.String("rest")})
	check := func(when string) {
		b := dbBytes(t, e.dir)
		for _, v := range []string{s1, s2, bin} {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s: the database files hold a secret value (%s)", when, v)
			}
		}
		if !bytes.Contains(b, []byte(desc)) {
			t.Errorf("%s: the description is not found in the database files: the check is blind", when)
		}
	}
	check("open")
	e.db.Close()
	check("closed")
	if logs := e.logs.String(); strings.Contains(logs, s1) || strings.Contains(logs, s2) || strings.Contains(logs, bin) {
		t.Error("a secret value reached the log")
	}
}

func TestAWSCLI(t *testing.T) {
	e := newEnv(t)
	out, errOut, code := runAWS(t, e.url, "secretsmanager", "create-secret", "--name", "cli/db", "--secret-string", `{"password":"cli-pw"}`)
	if code != 0 {
		t.Fatalf("create-secret: %d %s", code, errOut)
	}
	var created struct{ ARN, Name, VersionId string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || !arnRE.MatchString(created.ARN) || !uuidRE.MatchString(created.VersionId) {
		t.Fatalf("create-secret output %s (%v)", out, err)
	}
	out, errOut, code = runAWS(t, e.url, "secretsmanager", "get-secret-value", "--secret-id", created.ARN, "--query", "SecretString", "--output", "text")
	if code != 0 || strings.TrimSpace(out) != `{"password":"cli-pw"}` {
		t.Fatalf("get-secret-value: %d %q %s", code, out, errOut)
	}
	_, errOut, code = runAWS(t, e.url, "secretsmanager", "get-secret-value", "--secret-id", "cli/nope")
	if code == 0 || !strings.Contains(errOut, "ResourceNotFoundException") || !strings.Contains(errOut, "can't find the specified secret") {
		t.Fatalf("missing secret: %d %s", code, errOut)
	}
	_, errOut, code = runAWS(t, e.url, "secretsmanager", "create-secret", "--name", "cli/db", "--secret-string", "x")
	if code == 0 || !strings.Contains(errOut, "ResourceExistsException") {
		t.Fatalf("duplicate create: %d %s", code, errOut)
	}
}

const botoScript = `
import boto3, json, sys
c = boto3.client("secretsmanager", endpoint_url=sys.argv[1], region_name="us-east-1")
out = {}
r = c.create_secret(Name="boto/s", SecretString="boto-1")
out["arn"] = r["ARN"]
c.put_secret_value(SecretId="boto/s", SecretString="boto-2")
c.create_secret(Name="boto/t", SecretBinary=b"\x00\x01bin")
g = c.get_secret_value(SecretId=r["ARN"])
out["get"] = [g["SecretString"], g["VersionStages"], type(g["CreatedDate"]).__name__]
out["prev"] = c.get_secret_value(SecretId="boto/s", VersionStage="AWSPREVIOUS")["SecretString"]
out["bin"] = list(c.get_secret_value(SecretId="boto/t")["SecretBinary"])
pages = c.get_paginator("list_secrets").paginate(PaginationConfig={"PageSize": 1})
out["list"] = [s["Name"] for p in pages for s in p["SecretList"]]
try:
    c.get_secret_value(SecretId="boto/none")
except c.exceptions.ResourceNotFoundException as e:
    out["err"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
d = c.delete_secret(SecretId="boto/s", RecoveryWindowInDays=7)
out["deleted"] = type(d["DeletionDate"]).__name__
try:
    c.get_secret_value(SecretId="boto/s")
except c.exceptions.InvalidRequestException as e:
    out["derr"] = e.response["Error"]["Message"]
print(json.dumps(out))
`

func TestBoto3(t *testing.T) {
	e := newEnv(t)
	raw := runPython(t, e.url, botoScript)
	var got struct {
		ARN     string
		Get     []any
		Prev    string
		Bin     []int
		List    []string
		Err     []string
		Deleted string
		Derr    string
	}
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if !arnRE.MatchString(got.ARN) || fmt.Sprint(got.Get) != "[boto-2 [AWSCURRENT] datetime]" || got.Prev != "boto-1" || fmt.Sprint(got.Bin) != "[0 1 98 105 110]" {
		t.Errorf("boto3: %s", raw)
	}
	if !slices.Equal(got.List, []string{"boto/s", "boto/t"}) || got.Deleted != "datetime" {
		t.Errorf("boto3 list/delete: %s", raw)
	}
	if fmt.Sprint(got.Err) != "[ResourceNotFoundException Secrets Manager can't find the specified secret.]" || !strings.Contains(got.Derr, "marked for deletion") {
		t.Errorf("boto3 errors: %s", raw)
	}
}
