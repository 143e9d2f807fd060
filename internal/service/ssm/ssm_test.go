package ssm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func put(t *testing.T, e *env, name, value string, typ types.ParameterType, overwrite bool) int64 {
	t.Helper()
	out, err := e.client.PutParameter(context.Background(), &awsssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(overwrite),
	})
	if err != nil {
		t.Fatalf("put %s: %v", name, err)
	}
	return out.Version
}

func TestPutGetVersions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	out, err := e.client.PutParameter(ctx, &awsssm.PutParameterInput{
		Name: aws.String("/app/dev/db_host"), Value: aws.String("db1"), Type: types.ParameterTypeString,
		Description: aws.String("the host"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Version != 1 || out.Tier != types.ParameterTierStandard {
		t.Fatalf("put = version %d tier %s", out.Version, out.Tier)
	}

	_, err = e.client.PutParameter(ctx, &awsssm.PutParameterInput{
		Name: aws.String("/app/dev/db_host"), Value: aws.String("db2"), Type: types.ParameterTypeString,
	})
	var exists *types.ParameterAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("put without overwrite: %v", err)
	}
	wantAPIError(t, err, "ParameterAlreadyExists", "set the overwrite option")

	// Overwrite without Type keeps the type; without Description keeps it.
	out, err = e.client.PutParameter(ctx, &awsssm.PutParameterInput{
		Name: aws.String("/app/dev/db_host"), Value: aws.String("db2"), Overwrite: aws.Bool(true),
	})
	if err != nil || out.Version != 2 {
		t.Fatalf("overwrite = %+v, %v", out, err)
	}

	got, err := e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/app/dev/db_host")})
	if err != nil {
		t.Fatal(err)
	}
	p := got.Parameter
	if aws.ToString(p.Value) != "db2" || p.Version != 2 || p.Type != types.ParameterTypeString ||
		aws.ToString(p.ARN) != "arn:aws:ssm:us-east-1:000000000000:parameter/app/dev/db_host" ||
		aws.ToString(p.DataType) != "text" || p.LastModifiedDate == nil || p.Selector != nil {
		t.Fatalf("get = %+v", p)
	}

	for _, ref := range []string{"/app/dev/db_host:1", "arn:aws:ssm:us-east-1:000000000000:parameter/app/dev/db_host:1"} {
		got, err = e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String(ref)})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if aws.ToString(got.Parameter.Value) != "db1" || got.Parameter.Version != 1 ||
			aws.ToString(got.Parameter.Selector) != ":1" || aws.ToString(got.Parameter.Name) != "/app/dev/db_host" {
			t.Fatalf("%s = %+v", ref, got.Parameter)
		}
	}
	got, err = e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("arn:aws:ssm:us-east-1:000000000000:parameter/app/dev/db_host")})
	if err != nil || aws.ToString(got.Parameter.Value) != "db2" {
		t.Fatalf("by ARN = %+v, %v", got, err)
	}

	_, err = e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/app/dev/db_host:3")})
	var vnf *types.ParameterVersionNotFound
	if !errors.As(err, &vnf) {
		t.Fatalf("version 3: %v", err)
	}
	wantAPIError(t, err, "ParameterVersionNotFound", "could not find version 3 of /app/dev/db_host")
	_, err = e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/app/dev/db_host:0")})
	wantAPIError(t, err, "ParameterVersionNotFound", "version 0")
	_, err = e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/app/dev/nope")})
	var nf *types.ParameterNotFound
	if !errors.As(err, &nf) {
		t.Fatalf("missing: %v", err)
	}
	wantAPIError(t, err, "ParameterNotFound", "/app/dev/nope")
	_, err = e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/app/dev/nope:2")})
	wantAPIError(t, err, "ParameterNotFound", "/app/dev/nope")
	_, err = e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/app/dev/db_host:mylabel")})
	wantAPIError(t, err, "ParameterNotFound", "mylabel")
	_, err = e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("arn:aws:ssm:eu-west-1:000000000000:parameter/app/dev/db_host")})
	wantAPIError(t, err, "ParameterNotFound", "eu-west-1")
	_, err = e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("{bad}-name")})
	wantAPIError(t, err, "ValidationException", "can't be prefixed with \"ssm\"")

	d, err := e.client.DescribeParameters(ctx, &awsssm.DescribeParametersInput{})
	if err != nil || len(d.Parameters) != 1 || aws.ToString(d.Parameters[0].Description) != "the host" || d.Parameters[0].Version != 2 {
		t.Fatalf("describe = %+v, %v", d, err)
	}
}

func TestRootNamesWithAndWithoutSlash(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	put(t, e, "token", "v1", types.ParameterTypeString, false)
	_, err := e.client.PutParameter(ctx, &awsssm.PutParameterInput{Name: aws.String("/token"), Value: aws.String("v2"), Type: types.ParameterTypeString})
	wantAPIError(t, err, "ParameterAlreadyExists", "")
	if v := put(t, e, "/token", "v2", types.ParameterTypeString, true); v != 2 {
		t.Fatalf("version %d", v)
	}
	for _, n := range []string{"token", "/token", "arn:aws:ssm:us-east-1:000000000000:parameter/token"} {
		got, err := e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String(n)})
		if err != nil || aws.ToString(got.Parameter.Value) != "v2" || aws.ToString(got.Parameter.Name) != "token" {
			t.Fatalf("%s: %+v, %v", n, got, err)
		}
	}
}

func TestSecureString(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const secret = "s3cr3t-ssm-value-7f2c"
	put(t, e, "/app/pass", secret, types.ParameterTypeSecureString, false)

	got, err := e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/app/pass")})
	if err != nil {
		t.Fatal(err)
	}
	enc := aws.ToString(got.Parameter.Value)
	if enc == secret || strings.Contains(enc, secret) {
		t.Fatal("SecureString returned in plaintext without WithDecryption")
	}
	if b, err := base64.StdEncoding.DecodeString(enc); err != nil || len(b) < len(secret) {
		t.Fatalf("ciphertext %q is not base64 of a sealed value: %v", enc, err)
	}
	got, err = e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/app/pass"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(got.Parameter.Value) != secret || got.Parameter.Type != types.ParameterTypeSecureString {
		t.Fatalf("decrypted = %+v, %v", got, err)
	}

	// An overwrite that omits Type keeps SecureString.
	put(t, e, "/app/pass", secret+"-2", "", true)
	got, _ = e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/app/pass"), WithDecryption: aws.Bool(true)})
	if got.Parameter.Type != types.ParameterTypeSecureString || aws.ToString(got.Parameter.Value) != secret+"-2" {
		t.Fatalf("after typeless overwrite: %+v", got.Parameter)
	}
	d, _ := e.client.DescribeParameters(ctx, &awsssm.DescribeParametersInput{})
	if aws.ToString(d.Parameters[0].KeyId) != "alias/aws/ssm" {
		t.Fatalf("KeyId = %q", aws.ToString(d.Parameters[0].KeyId))
	}

	// A type change needs Overwrite, and then happens.
	put(t, e, "/app/plain", "p", types.ParameterTypeString, false)
	_, err = e.client.PutParameter(ctx, &awsssm.PutParameterInput{Name: aws.String("/app/plain"), Value: aws.String("q"), Type: types.ParameterTypeSecureString})
	wantAPIError(t, err, "ParameterAlreadyExists", "")
	put(t, e, "/app/plain", "q", types.ParameterTypeSecureString, true)
	got, _ = e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/app/plain")})
	if got.Parameter.Type != types.ParameterTypeSecureString || aws.ToString(got.Parameter.Value) == "q" {
		t.Fatalf("after type change: %+v", got.Parameter)
	}
	h, err := e.client.GetParameterHistory(ctx, &awsssm.GetParameterHistoryInput{Name: aws.String("/app/plain"), WithDecryption: aws.Bool(true)})
	if err != nil || len(h.Parameters) != 2 || h.Parameters[0].Type != types.ParameterTypeString || aws.ToString(h.Parameters[1].Value) != "q" {
		t.Fatalf("history = %+v, %v", h, err)
	}
}

func TestPutParameterValidation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	deep := strings.Repeat("/l", 15)
	cases := []struct {
		in        awsssm.PutParameterInput
		code, msg string
	}{
		{awsssm.PutParameterInput{Name: aws.String("ssmthing")}, "ValidationException", `can't be prefixed with "ssm"`},
		{awsssm.PutParameterInput{Name: aws.String("/SSM/x/y")}, "ValidationException", `can't be prefixed with "ssm"`},
		{awsssm.PutParameterInput{Name: aws.String("awsthing")}, "AccessDeniedException", "No access to reserved parameter name: awsthing."},
		{awsssm.PutParameterInput{Name: aws.String("/aws/x")}, "AccessDeniedException", "reserved parameter name: /aws/x."},
		{awsssm.PutParameterInput{Name: aws.String("a/b")}, "ValidationException", "Parameter name must be a fully qualified name."},
		{awsssm.PutParameterInput{Name: aws.String("/a//b")}, "ValidationException", "sub-paths divided by slash"},
		{awsssm.PutParameterInput{Name: aws.String("/a/b/")}, "ValidationException", "sub-paths divided by slash"},
		{awsssm.PutParameterInput{Name: aws.String("/a/b c")}, "ValidationException", "sub-paths divided by slash"},
		{awsssm.PutParameterInput{Name: aws.String("/a/b@c")}, "ValidationException", "sub-paths divided by slash"},
		{awsssm.PutParameterInput{Name: aws.String(deep + "/x")}, "HierarchyLevelLimitExceededException", "maximum of 15 levels"},
		{awsssm.PutParameterInput{Name: aws.String("/" + strings.Repeat("n", 1000))}, "ValidationException", "too long"},
		{awsssm.PutParameterInput{Name: aws.String("/new")}, "ValidationException", "A parameter type is required when you create a parameter."},
		{awsssm.PutParameterInput{Name: aws.String("/v"), Value: aws.String(""), Type: types.ParameterTypeString}, "ValidationException", "at 'value'"},
		{awsssm.PutParameterInput{Name: aws.String("/v"), Type: "Number"}, "ValidationException", "enum value set: [SecureString, StringList, String]"},
		{awsssm.PutParameterInput{Name: aws.String("/v"), Type: types.ParameterTypeString, DataType: aws.String("Text")}, "ValidationException", "data type is not supported: Text"},
		{awsssm.PutParameterInput{Name: aws.String("/v"), Type: types.ParameterTypeString, DataType: aws.String("aws:ec2:image")}, "ValidationException", "not a valid image ID"},
		{awsssm.PutParameterInput{Name: aws.String("/v"), Type: types.ParameterTypeString, Overwrite: aws.Bool(true), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}, "ValidationException", "tags and overwrite can't be used together"},
		{awsssm.PutParameterInput{Name: aws.String("/v"), Type: types.ParameterTypeString, Value: aws.String(strings.Repeat("x", 4097))}, "ValidationException", "Standard tier parameters support a maximum parameter value of 4096 characters"},
		{awsssm.PutParameterInput{Name: aws.String("/v"), Type: types.ParameterTypeString, Tier: types.ParameterTierAdvanced, Value: aws.String(strings.Repeat("x", 8193))}, "ValidationException", "8192"},
		{awsssm.PutParameterInput{Name: aws.String("/v"), Type: types.ParameterTypeString, AllowedPattern: aws.String(`\d{1,4}`), Value: aws.String("10,000")}, "ParameterPatternMismatchException", `Parameter value, cannot be validated against allowedPattern: \d{1,4}`},
		{awsssm.PutParameterInput{Name: aws.String("/v"), Type: types.ParameterTypeString, AllowedPattern: aws.String(`(`)}, "InvalidAllowedPatternException", "regular expression"},
		{awsssm.PutParameterInput{Name: aws.String("/v"), Type: types.ParameterTypeString, Policies: aws.String(`[{"Type":"Expiration"}]`)}, "ValidationException", "policies"},
	}
	for _, c := range cases {
		if c.in.Value == nil {
			c.in.Value = aws.String("value")
		}
		_, err := e.client.PutParameter(ctx, &c.in)
		t.Run(aws.ToString(c.in.Name)[:min(20, len(aws.ToString(c.in.Name)))], func(t *testing.T) { wantAPIError(t, err, c.code, c.msg) })
	}
	if d, _ := e.client.DescribeParameters(ctx, &awsssm.DescribeParametersInput{}); len(d.Parameters) != 0 {
		t.Fatalf("a refused put left %d parameters", len(d.Parameters))
	}
	// The limits themselves are fine.
	put(t, e, strings.Repeat("/l", 14)+"/x", "v", types.ParameterTypeString, false)
	put(t, e, "/big", strings.Repeat("x", 4096), types.ParameterTypeString, false)
	put(t, e, "  /spaced  ", "v", types.ParameterTypeString, false)
	if _, err := e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/spaced")}); err != nil {
		t.Fatalf("name with spaces around was not trimmed: %v", err)
	}
	if _, err := e.client.PutParameter(ctx, &awsssm.PutParameterInput{Name: aws.String("/ami"), Type: types.ParameterTypeString,
		DataType: aws.String("aws:ec2:image"), Value: aws.String("ami-0123456789abcdef0")}); err != nil {
		t.Fatal(err)
	}
}

func TestAllowedPatternAndTiers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, err := e.client.PutParameter(ctx, &awsssm.PutParameterInput{Name: aws.String("/n"), Type: types.ParameterTypeSecureString,
		AllowedPattern: aws.String(`\d{1,4}`), Value: aws.String("1000")})
	if err != nil {
		t.Fatal(err)
	}
	// The pattern stays with the parameter and applies to later values.
	_, err = e.client.PutParameter(ctx, &awsssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("secret-10000"), Overwrite: aws.Bool(true)})
	wantAPIError(t, err, "ParameterPatternMismatchException", `\d{1,4}`)
	if strings.Contains(e.logs.String(), "secret-10000") {
		t.Fatal("a refused SecureString value reached the log")
	}
	// Clearing it lifts it.
	if _, err = e.client.PutParameter(ctx, &awsssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("x"), AllowedPattern: aws.String(""), Overwrite: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}

	out, err := e.client.PutParameter(ctx, &awsssm.PutParameterInput{Name: aws.String("/t"), Type: types.ParameterTypeString,
		Tier: types.ParameterTierIntelligentTiering, Value: aws.String(strings.Repeat("y", 5000))})
	if err != nil || out.Tier != types.ParameterTierAdvanced {
		t.Fatalf("intelligent tiering of 5000 bytes = %+v, %v", out, err)
	}
	_, err = e.client.PutParameter(ctx, &awsssm.PutParameterInput{Name: aws.String("/t"), Tier: types.ParameterTierStandard, Value: aws.String("y"), Overwrite: aws.Bool(true)})
	wantAPIError(t, err, "ValidationException", "can't downgrade a parameter from the advanced-parameter tier")
	out, err = e.client.PutParameter(ctx, &awsssm.PutParameterInput{Name: aws.String("/t"), Value: aws.String("small"), Overwrite: aws.Bool(true)})
	if err != nil || out.Tier != types.ParameterTierAdvanced || out.Version != 2 {
		t.Fatalf("overwrite keeps the tier: %+v, %v", out, err)
	}
}

func TestGetParameters(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	put(t, e, "/a", "1", types.ParameterTypeString, false)
	put(t, e, "/b", "x,y,z", types.ParameterTypeStringList, false)
	put(t, e, "/c", "secret-c", types.ParameterTypeSecureString, false)
	out, err := e.client.GetParameters(ctx, &awsssm.GetParametersInput{
		Names: []string{"/a", "/missing", "/b", "/c", "/a:1", "/a:9", "bad name", "/a"}, WithDecryption: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range out.Parameters {
		got = append(got, aws.ToString(p.Name)+"="+aws.ToString(p.Value)+aws.ToString(p.Selector))
	}
	if want := []string{"/a=1", "/b=x,y,z", "/c=secret-c", "/a=1:1"}; !slices.Equal(got, want) {
		t.Errorf("parameters = %q, want %q", got, want)
	}
	if want := []string{"/missing", "/a:9", "bad name"}; !slices.Equal(out.InvalidParameters, want) {
		t.Errorf("invalid = %q, want %q", out.InvalidParameters, want)
	}
	names := make([]string, 11)
	for i := range names {
		names[i] = fmt.Sprintf("/p%d", i)
	}
	_, err = e.client.GetParameters(ctx, &awsssm.GetParametersInput{Names: names})
	wantAPIError(t, err, "ValidationException", "Member must have length less than or equal to 10")
}

func seedTree(t *testing.T, e *env) {
	for _, n := range []string{"/app/dev/a", "/app/dev/b", "/app/dev/sub/c", "/app/dev/sub/deep/d", "/app/prod/x", "/app_other/y", "top"} {
		typ := types.ParameterTypeString
		if strings.HasSuffix(n, "/b") || strings.HasSuffix(n, "/c") {
			typ = types.ParameterTypeSecureString
		}
		put(t, e, n, "v:"+n, typ, false)
	}
}

func names(ps []types.Parameter) []string {
	var out []string
	for _, p := range ps {
		out = append(out, aws.ToString(p.Name))
	}
	return out
}

func TestGetParametersByPath(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	seedTree(t, e)
	byPath := func(in *awsssm.GetParametersByPathInput) []types.Parameter {
		t.Helper()
		var all []types.Parameter
		pg := awsssm.NewGetParametersByPathPaginator(e.client, in)
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, out.Parameters...)
		}
		return all
	}
	cases := []struct {
		path      string
		recursive bool
		want      []string
	}{
		{"/app/dev", false, []string{"/app/dev/a", "/app/dev/b"}},
		{"/app/dev/", false, []string{"/app/dev/a", "/app/dev/b"}},
		{"/app/dev", true, []string{"/app/dev/a", "/app/dev/b", "/app/dev/sub/c", "/app/dev/sub/deep/d"}},
		{"/app", false, nil},
		{"/", false, []string{"top"}},
		{"/", true, []string{"/app/dev/a", "/app/dev/b", "/app/dev/sub/c", "/app/dev/sub/deep/d", "/app/prod/x", "/app_other/y", "top"}},
		{"/nothing", true, nil},
	}
	for _, c := range cases {
		for _, max := range []int32{1, 2, 10} {
			got := names(byPath(&awsssm.GetParametersByPathInput{Path: aws.String(c.path), Recursive: aws.Bool(c.recursive), MaxResults: aws.Int32(max)}))
			if !slices.Equal(got, c.want) {
				t.Errorf("%s recursive=%v max=%d: %q, want %q", c.path, c.recursive, max, got, c.want)
			}
		}
	}

	ps := byPath(&awsssm.GetParametersByPathInput{Path: aws.String("/app"), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true),
		ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Type"), Values: []string{"SecureString"}}}})
	if got := names(ps); !slices.Equal(got, []string{"/app/dev/b", "/app/dev/sub/c"}) {
		t.Fatalf("SecureString filter: %q", got)
	}
	if aws.ToString(ps[0].Value) != "v:/app/dev/b" {
		t.Fatalf("decrypted value %q", aws.ToString(ps[0].Value))
	}
	ps = byPath(&awsssm.GetParametersByPathInput{Path: aws.String("/app/dev"),
		ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("KeyId"), Values: []string{"alias/aws/ssm"}}}})
	if got := names(ps); !slices.Equal(got, []string{"/app/dev/b"}) || aws.ToString(ps[0].Value) == "v:/app/dev/b" {
		t.Fatalf("KeyId filter: %q", got)
	}

	errCases := []struct {
		in        awsssm.GetParametersByPathInput
		code, msg string
	}{
		{awsssm.GetParametersByPathInput{Path: aws.String("app")}, "ValidationException", `must begin with a forward slash "/"`},
		{awsssm.GetParametersByPathInput{Path: aws.String("/a b")}, "ValidationException", "Valid example"},
		{awsssm.GetParametersByPathInput{Path: aws.String("/app"), MaxResults: aws.Int32(11)}, "ValidationException", "less than or equal to 10"},
		{awsssm.GetParametersByPathInput{Path: aws.String("/app"), NextToken: aws.String("garbage!")}, "InvalidNextToken", "nextToken"},
		{awsssm.GetParametersByPathInput{Path: aws.String("/app"), ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Name"), Values: []string{"x"}}}}, "InvalidFilterKey", ""},
		{awsssm.GetParametersByPathInput{Path: aws.String("/app"), ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Type"), Option: aws.String("Contains"), Values: []string{"x"}}}}, "InvalidFilterOption", "Contains"},
		{awsssm.GetParametersByPathInput{Path: aws.String("/app"), ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Type"), Values: []string{"Secret"}}}}, "InvalidFilterValue", "Secret"},
	}
	for _, c := range errCases {
		_, err := e.client.GetParametersByPath(ctx, &c.in)
		wantAPIError(t, err, c.code, c.msg)
	}
}

func TestDescribeParameters(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	seedTree(t, e)
	describe := func(in *awsssm.DescribeParametersInput) []string {
		t.Helper()
		var out []string
		pg := awsssm.NewDescribeParametersPaginator(e.client, in)
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page.Parameters {
				if p.LastModifiedDate == nil || aws.ToString(p.ARN) == "" || p.Tier != types.ParameterTierStandard {
					t.Errorf("metadata %+v", p)
				}
				out = append(out, aws.ToString(p.Name))
			}
		}
		return out
	}
	f := func(key, option string, values ...string) []types.ParameterStringFilter {
		sf := types.ParameterStringFilter{Key: aws.String(key), Values: values}
		if option != "" {
			sf.Option = aws.String(option)
		}
		return []types.ParameterStringFilter{sf}
	}
	cases := []struct {
		in   awsssm.DescribeParametersInput
		want []string
	}{
		{awsssm.DescribeParametersInput{MaxResults: aws.Int32(2)}, []string{"/app/dev/a", "/app/dev/b", "/app/dev/sub/c", "/app/dev/sub/deep/d", "/app/prod/x", "/app_other/y", "top"}},
		{awsssm.DescribeParametersInput{ParameterFilters: f("Name", "BeginsWith", "/app/dev/sub")}, []string{"/app/dev/sub/c", "/app/dev/sub/deep/d"}},
		{awsssm.DescribeParametersInput{ParameterFilters: f("Name", "", "/top")}, []string{"top"}},
		{awsssm.DescribeParametersInput{ParameterFilters: f("Name", "Equals", "app/prod/x")}, []string{"/app/prod/x"}},
		{awsssm.DescribeParametersInput{ParameterFilters: f("Name", "Contains", "other")}, []string{"/app_other/y"}},
		{awsssm.DescribeParametersInput{ParameterFilters: f("Type", "", "SecureString"), MaxResults: aws.Int32(1)}, []string{"/app/dev/b", "/app/dev/sub/c"}},
		{awsssm.DescribeParametersInput{ParameterFilters: f("Path", "", "/app/dev")}, []string{"/app/dev/a", "/app/dev/b"}},
		{awsssm.DescribeParametersInput{ParameterFilters: f("Path", "Recursive", "/app/dev/sub")}, []string{"/app/dev/sub/c", "/app/dev/sub/deep/d"}},
		{awsssm.DescribeParametersInput{ParameterFilters: f("Path", "OneLevel", "/")}, []string{"top"}},
		{awsssm.DescribeParametersInput{Filters: []types.ParametersFilter{{Key: types.ParametersFilterKeyName, Values: []string{"/app/p"}}}}, []string{"/app/prod/x"}},
		{awsssm.DescribeParametersInput{Filters: []types.ParametersFilter{{Key: types.ParametersFilterKeyType, Values: []string{"String"}}}}, []string{"/app/dev/a", "/app/dev/sub/deep/d", "/app/prod/x", "/app_other/y", "top"}},
		{awsssm.DescribeParametersInput{Shared: aws.Bool(true)}, nil},
	}
	for i, c := range cases {
		if got := describe(&c.in); !slices.Equal(got, c.want) {
			t.Errorf("case %d: %q, want %q", i, got, c.want)
		}
	}
	for _, c := range []struct {
		in        awsssm.DescribeParametersInput
		code, msg string
	}{
		{awsssm.DescribeParametersInput{Filters: []types.ParametersFilter{{Key: "Name", Values: []string{"a"}}}, ParameterFilters: f("Name", "", "a")}, "ValidationException", "either Filters or ParameterFilters"},
		{awsssm.DescribeParametersInput{ParameterFilters: f("Label", "", "a")}, "InvalidFilterKey", ""},
		{awsssm.DescribeParametersInput{ParameterFilters: f("Path", "BeginsWith", "/a")}, "InvalidFilterOption", "[Recursive, OneLevel]"},
		{awsssm.DescribeParametersInput{ParameterFilters: f("Name", "")}, "InvalidFilterValue", "missing"},
		{awsssm.DescribeParametersInput{ParameterFilters: append(f("Type", "", "String"), f("Type", "", "String")...)}, "InvalidFilterKey", ""},
		{awsssm.DescribeParametersInput{MaxResults: aws.Int32(51)}, "ValidationException", "less than or equal to 50"},
	} {
		_, err := e.client.DescribeParameters(ctx, &c.in)
		wantAPIError(t, err, c.code, c.msg)
	}
}

// TestWireShapes checks the raw responses: timestamps are JSON numbers,
// DescribeParameters carries no values, lists are present when empty.
func TestWireShapes(t *testing.T) {
	e := newEnv(t)
	put(t, e, "/w/secure", "wire-secret-81b3", types.ParameterTypeSecureString, false)
	call := func(op, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "AmazonSSM."+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if op == "DescribeParameters" && (bytes.Contains(raw, []byte("wire-secret")) || bytes.Contains(raw, []byte(`"Value"`))) {
			t.Errorf("DescribeParameters response holds a value: %s", raw)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v: %s", op, err, raw)
		}
		return m
	}
	p := call("GetParameter", `{"Name":"/w/secure"}`)["Parameter"].(map[string]any)
	if _, ok := p["LastModifiedDate"].(float64); !ok {
		t.Errorf("LastModifiedDate = %#v, want a number", p["LastModifiedDate"])
	}
	d := call("DescribeParameters", `{}`)["Parameters"].([]any)[0].(map[string]any)
	if _, ok := d["LastModifiedDate"].(float64); !ok || d["Policies"] == nil {
		t.Errorf("metadata = %#v", d)
	}
	g := call("GetParameters", `{"Names":["/w/nope"]}`)
	if ps, ok := g["Parameters"].([]any); !ok || len(ps) != 0 {
		t.Errorf("GetParameters of a missing name = %#v", g)
	}
	u := call("GetParameter", `{"Name":"/w/secure","Bogus":1}`)
	if u["__type"] != "SerializationException" {
		t.Errorf("unknown member: %#v", u)
	}
}

func TestHistoryAndDelete(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	for i := 1; i <= 5; i++ {
		put(t, e, "/h", fmt.Sprintf("value-%d", i), types.ParameterTypeSecureString, i > 1)
	}
	var versions []string
	pg := awsssm.NewGetParameterHistoryPaginator(e.client, &awsssm.GetParameterHistoryInput{Name: aws.String("/h"), WithDecryption: aws.Bool(true), MaxResults: aws.Int32(2)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out.Parameters {
			versions = append(versions, fmt.Sprintf("%d=%s", p.Version, aws.ToString(p.Value)))
			if aws.ToString(p.KeyId) != "alias/aws/ssm" || p.LastModifiedDate == nil || aws.ToString(p.LastModifiedUser) == "" {
				t.Errorf("history entry %+v", p)
			}
		}
	}
	if want := []string{"1=value-1", "2=value-2", "3=value-3", "4=value-4", "5=value-5"}; !slices.Equal(versions, want) {
		t.Fatalf("history %q", versions)
	}
	_, err := e.client.GetParameterHistory(ctx, &awsssm.GetParameterHistoryInput{Name: aws.String("/nope")})
	wantAPIError(t, err, "ParameterNotFound", "/nope")

	if _, err := e.client.DeleteParameter(ctx, &awsssm.DeleteParameterInput{Name: aws.String("/h")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteParameter(ctx, &awsssm.DeleteParameterInput{Name: aws.String("/h")})
	var nf *types.ParameterNotFound
	if !errors.As(err, &nf) {
		t.Fatalf("second delete: %v", err)
	}
	_, err = e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/h")})
	wantAPIError(t, err, "ParameterNotFound", "")
	_, err = e.client.DeleteParameter(ctx, &awsssm.DeleteParameterInput{Name: aws.String("aws-thing")})
	wantAPIError(t, err, "AccessDeniedException", "aws-thing")

	put(t, e, "/d1", "1", types.ParameterTypeString, false)
	put(t, e, "d2", "2", types.ParameterTypeString, false)
	out, err := e.client.DeleteParameters(ctx, &awsssm.DeleteParametersInput{Names: []string{"/d1", "/nope", "/d2", "bad name"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.DeletedParameters, []string{"/d1", "/d2"}) || !slices.Equal(out.InvalidParameters, []string{"/nope", "bad name"}) {
		t.Fatalf("DeleteParameters = %q / %q", out.DeletedParameters, out.InvalidParameters)
	}
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	put(t, e, "/dev/DOCKER_USER", "bob", types.ParameterTypeString, false)
	put(t, e, "/dev/DOCKER_PASS", "resolve-secret-1", types.ParameterTypeSecureString, false)
	put(t, e, "/dev/DOCKER_PASS", "resolve-secret-2", types.ParameterTypeSecureString, true)
	put(t, e, "/dev/HOSTS", "a,b,c", types.ParameterTypeStringList, false)
	values, missing, err := e.svc.Resolve(ctx, []string{"/dev/DOCKER_USER", "/dev/DOCKER_PASS", "/dev/DOCKER_PASS:1", "/dev/HOSTS",
		"/dev/MISSING", "not valid!", "/dev/MISSING", "arn:aws:ssm:us-east-1:000000000000:parameter/dev/DOCKER_USER"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/dev/DOCKER_USER": "bob", "/dev/DOCKER_PASS": "resolve-secret-2", "/dev/DOCKER_PASS:1": "resolve-secret-1",
		"/dev/HOSTS": "a,b,c", "arn:aws:ssm:us-east-1:000000000000:parameter/dev/DOCKER_USER": "bob",
	}
	if fmt.Sprint(values) != fmt.Sprint(want) {
		t.Errorf("values = %v", values)
	}
	if !slices.Equal(missing, []string{"/dev/MISSING", "not valid!"}) {
		t.Errorf("missing = %q", missing)
	}
	if strings.Contains(e.logs.String(), "resolve-secret") {
		t.Error("a resolved value reached the log")
	}
}

// TestNoPlaintextAtRest writes a SecureString and checks the database
// files never hold its value, while a String value is found the same way.
func TestNoPlaintextAtRest(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const secret, plain = "at-rest-secure-6d1e9a", "at-rest-plain-3f7b20"
	put(t, e, "/rest/secure", secret, types.ParameterTypeSecureString, false)
	put(t, e, "/rest/secure", secret+"-v2", "", true)
	put(t, e, "/rest/plain", plain, types.ParameterTypeString, false)
	if _, err := e.client.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/rest/secure"), WithDecryption: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		b := dbBytes(t, e.dir)
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s: the database files hold the SecureString value", when)
		}
		if !bytes.Contains(b, []byte(plain)) {
			t.Errorf("%s: the String value is not found in the database files: the check is blind", when)
		}
	}
	check("open")
	e.db.Close()
	check("closed")
	if strings.Contains(e.logs.String(), secret) {
		t.Error("the SecureString value reached the log")
	}
}

func TestAWSCLI(t *testing.T) {
	e := newEnv(t)
	out, errOut, code := runAWS(t, e.url, "ssm", "put-parameter", "--name", "/cli/pass", "--value", "cli-secret-v1", "--type", "SecureString")
	if code != 0 {
		t.Fatalf("put-parameter: %d %s", code, errOut)
	}
	if !strings.Contains(out, `"Version": 1`) {
		t.Fatalf("put-parameter output %s", out)
	}
	runAWS(t, e.url, "ssm", "put-parameter", "--name", "/cli/sub/user", "--value", "alice", "--type", "String")
	out, errOut, code = runAWS(t, e.url, "ssm", "get-parameter", "--name", "/cli/pass", "--with-decryption", "--query", "Parameter.Value", "--output", "text")
	if code != 0 || strings.TrimSpace(out) != "cli-secret-v1" {
		t.Fatalf("get-parameter --with-decryption: %d %q %s", code, out, errOut)
	}
	out, errOut, code = runAWS(t, e.url, "ssm", "get-parameters-by-path", "--path", "/cli", "--recursive", "--with-decryption", "--max-items", "5", "--page-size", "1")
	if code != 0 {
		t.Fatalf("get-parameters-by-path: %d %s", code, errOut)
	}
	var byPath struct {
		Parameters []struct{ Name, Value, Type string }
	}
	if err := json.Unmarshal([]byte(out), &byPath); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(byPath.Parameters) != 2 || byPath.Parameters[0].Value != "cli-secret-v1" || byPath.Parameters[1].Name != "/cli/sub/user" {
		t.Fatalf("by path = %+v", byPath)
	}
	_, errOut, code = runAWS(t, e.url, "ssm", "get-parameter", "--name", "/cli/nope")
	if code == 0 || !strings.Contains(errOut, "ParameterNotFound") {
		t.Fatalf("missing parameter: %d %s", code, errOut)
	}
	_, errOut, code = runAWS(t, e.url, "ssm", "put-parameter", "--name", "/cli/pass", "--value", "x", "--type", "SecureString")
	if code == 0 || !strings.Contains(errOut, "ParameterAlreadyExists") {
		t.Fatalf("put without overwrite: %d %s", code, errOut)
	}
}

const botoScript = `
import boto3, json, sys
from botocore.exceptions import ClientError
c = boto3.client("ssm", endpoint_url=sys.argv[1], region_name="us-east-1")
out = {}
out["put"] = c.put_parameter(Name="/boto/a", Value="boto-secret", Type="SecureString")["Version"]
c.put_parameter(Name="/boto/a", Value="boto-secret-2", Type="SecureString", Overwrite=True)
c.put_parameter(Name="/boto/b/c", Value="x,y", Type="StringList")
p = c.get_parameter(Name="/boto/a", WithDecryption=True)["Parameter"]
out["get"] = [p["Value"], p["Version"], type(p["LastModifiedDate"]).__name__]
out["v1"] = c.get_parameter(Name="/boto/a:1", WithDecryption=True)["Parameter"]["Value"]
pages = c.get_paginator("get_parameters_by_path").paginate(Path="/boto", Recursive=True, WithDecryption=True, PaginationConfig={"PageSize": 1})
out["path"] = [(q["Name"], q["Value"]) for page in pages for q in page["Parameters"]]
r = c.get_parameters(Names=["/boto/a", "/boto/zz"])
out["invalid"] = r["InvalidParameters"]
try:
    c.get_parameter(Name="/boto/zz")
except ClientError as e:
    out["err"] = e.response["Error"]["Code"]
try:
    c.get_parameter(Name="/boto/a:7")
except c.exceptions.ParameterVersionNotFound as e:
    out["verr"] = e.response["Error"]["Code"]
print(json.dumps(out))
`

func TestBoto3(t *testing.T) {
	e := newEnv(t)
	var got struct {
		Put     int
		Get     []any
		V1      string
		Path    [][]string
		Invalid []string
		Err     string
		Verr    string
	}
	raw := runPython(t, e.url, botoScript)
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if got.Put != 1 || fmt.Sprint(got.Get) != "[boto-secret-2 2 datetime]" || got.V1 != "boto-secret" {
		t.Errorf("boto3 put/get: %s", raw)
	}
	if fmt.Sprint(got.Path) != "[[/boto/a boto-secret-2] [/boto/b/c x,y]]" {
		t.Errorf("boto3 path: %v", got.Path)
	}
	if !slices.Equal(got.Invalid, []string{"/boto/zz"}) || got.Err != "ParameterNotFound" || got.Verr != "ParameterVersionNotFound" {
		t.Errorf("boto3 errors: %s", raw)
	}
}

func TestConcurrentOverwrites(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	put(t, e, "/race", "0", types.ParameterTypeSecureString, false)
	const n = 12
	versions := make(chan int64, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			out, err := e.client.PutParameter(ctx, &awsssm.PutParameterInput{Name: aws.String("/race"), Value: aws.String(fmt.Sprint(i + 1)), Overwrite: aws.Bool(true)})
			if err != nil {
				errs <- err
				return
			}
			versions <- out.Version
		}()
	}
	seen := map[int64]bool{}
	for range n {
		select {
		case err := <-errs:
			t.Fatal(err)
		case v := <-versions:
			if seen[v] || v < 2 || v > n+1 {
				t.Fatalf("version %d handed out twice or out of range", v)
			}
			seen[v] = true
		}
	}
	h, err := e.client.GetParameterHistory(ctx, &awsssm.GetParameterHistoryInput{Name: aws.String("/race")})
	if err != nil || len(h.Parameters) != n+1 {
		t.Fatalf("history has %d versions, %v", len(h.Parameters), err)
	}
}
