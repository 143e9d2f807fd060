package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// wantAPIError checks that err is an AWS error with code, HTTP status and a
// message starting with msgPrefix.
func wantAPIError(t *testing.T, err error, code string, status int, msgPrefix string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code %q (%s), want %q", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	if !strings.HasPrefix(ae.ErrorMessage(), msgPrefix) {
		t.Fatalf("error message %q, want prefix %q", ae.ErrorMessage(), msgPrefix)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v has no HTTP response", err)
	}
	if re.HTTPStatusCode() != status {
		t.Fatalf("HTTP status %d, want %d", re.HTTPStatusCode(), status)
	}
}

func TestSDKJSONAuthentication(t *testing.T) {
	srv := newTestServer(t, false)
	ctx := context.Background()
	list := func(cfg aws.Config) ([]string, error) {
		out, err := codebuild.NewFromConfig(cfg).ListProjects(ctx, &codebuild.ListProjectsInput{})
		if err != nil {
			return nil, err
		}
		return out.Projects, nil
	}

	got, err := list(srv.sdkConfig(testKeyID, testSecret, ""))
	if err != nil {
		t.Fatalf("signed request: %v", err)
	}
	if len(got) != 1 || got[0] != "caller-alice" {
		t.Fatalf("handler saw caller %v, want alice", got)
	}
	got, err = list(srv.sdkConfig(tempKeyID, tempSecret, tempToken))
	if err != nil || len(got) != 1 || got[0] != "caller-build" {
		t.Fatalf("temporary credentials: %v %v", got, err)
	}

	_, err = list(srv.sdkConfig(testKeyID, "wrong-secret", ""))
	wantAPIError(t, err, "InvalidSignatureException", 400, msgSigMismatch)
	_, err = list(srv.sdkConfig("AKIDUNKNOWN000000000", testSecret, ""))
	wantAPIError(t, err, "UnrecognizedClientException", 400, "The security token included in the request is invalid.")
	_, err = list(srv.sdkConfig(tempKeyID, tempSecret, "wrong-token"))
	wantAPIError(t, err, "UnrecognizedClientException", 400, "The security token included in the request is invalid.")
	_, err = list(srv.sdkConfig(tempKeyID, tempSecret, ""))
	wantAPIError(t, err, "UnrecognizedClientException", 400, "The security token included in the request is invalid.")
	_, err = list(srv.sdkConfig(expiredKeyID, tempSecret, tempToken))
	wantAPIError(t, err, "ExpiredTokenException", 400, "The security token included in the request is expired")
	_, err = list(srv.sdkConfig("AKIDSTOREFAILURE", "x", ""))
	wantAPIError(t, err, "InternalFailure", 500, "The request processing has failed")

	srv.clock.shift(20 * time.Minute)
	_, err = list(srv.sdkConfig(testKeyID, testSecret, ""))
	wantAPIError(t, err, "InvalidSignatureException", 400, "Signature expired: ")
	srv.clock.shift(-40 * time.Minute)
	_, err = list(srv.sdkConfig(testKeyID, testSecret, ""))
	wantAPIError(t, err, "InvalidSignatureException", 400, "Signature not yet current: ")
	srv.clock.shift(20*time.Minute - 14*time.Minute)
	if _, err = list(srv.sdkConfig(testKeyID, testSecret, "")); err != nil {
		t.Fatalf("14 minutes of skew must pass: %v", err)
	}
}

func TestUnsignedRequestsRefused(t *testing.T) {
	srv := newTestServer(t, false)
	cases := []struct {
		name, method, path, contentType, target, body, authz string
		status                                               int
		contains                                             []string
	}{
		{"json", "POST", "/", ContentTypeJSON, "CodeBuild_20161006.ListProjects", "{}", "", 400,
			[]string{`"__type":"MissingAuthenticationTokenException"`, `"message":"Missing Authentication Token"`}},
		{"query", "POST", "/", "application/x-www-form-urlencoded", "", "Action=GetCallerIdentity&Version=2011-06-15", "", 403,
			[]string{"<ErrorResponse", "<Type>Sender</Type>", "<Code>MissingAuthenticationToken</Code>"}},
		{"s3", "GET", "/bucket/key", "", "", "", "", 403,
			[]string{"<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"}},
		{"sigv2 header", "GET", "/bucket/key", "", "", "", "AWS " + testKeyID + ":c2lnbmF0dXJl", 400,
			[]string{"<Code>InvalidRequest</Code>", "AWS4-HMAC-SHA256"}},
		{"sigv2 json", "POST", "/", ContentTypeJSON, "CodeBuild_20161006.ListProjects", "{}", "AWS " + testKeyID + ":c2lnbmF0dXJl", 400,
			[]string{`"__type":"IncompleteSignatureException"`}},
		{"both", "GET", "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256", "", "", "", "AWS4-HMAC-SHA256 Credential=x", 400,
			[]string{"<Code>InvalidArgument</Code>", "Only one auth mechanism allowed"}},
		{"malformed header", "GET", "/bucket/key", "", "", "", "AWS4-HMAC-SHA256 Credential=" + testKeyID + "/20240101/us-east-1/s3/aws4_request", 400,
			[]string{"<Code>AuthorizationHeaderMalformed</Code>", "requires &#39;SignedHeaders&#39; parameter"}},
		{"malformed query", "POST", "/", "application/x-www-form-urlencoded", "", "Action=GetCallerIdentity", "AWS4-HMAC-SHA256 Credential=a/b", 400,
			[]string{"<Code>IncompleteSignature</Code>"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			if c.target != "" {
				req.Header.Set("X-Amz-Target", c.target)
			}
			if c.authz != "" {
				req.Header.Set("Authorization", c.authz)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, b)
			}
			for _, s := range c.contains {
				if !strings.Contains(string(b), s) {
					t.Fatalf("body %s does not contain %s", b, s)
				}
			}
		})
	}
}

func TestSDKQueryAuthentication(t *testing.T) {
	srv := newTestServer(t, false)
	ctx := context.Background()
	who := func(cfg aws.Config) (string, error) {
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Arn), nil
	}
	arn, err := who(srv.sdkConfig(testKeyID, testSecret, ""))
	if err != nil || arn != "arn:aws:iam::"+testAccountID+":user/alice" {
		t.Fatalf("GetCallerIdentity = %q, %v", arn, err)
	}
	_, err = who(srv.sdkConfig(testKeyID, "wrong", ""))
	wantAPIError(t, err, "SignatureDoesNotMatch", 403, msgSigMismatch)
	_, err = who(srv.sdkConfig("AKIDUNKNOWN000000000", "wrong", ""))
	wantAPIError(t, err, "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
	_, err = who(srv.sdkConfig(expiredKeyID, tempSecret, tempToken))
	wantAPIError(t, err, "ExpiredToken", 403, "The security token included in the request is expired")
	srv.clock.shift(16 * time.Minute)
	_, err = who(srv.sdkConfig(testKeyID, testSecret, ""))
	wantAPIError(t, err, "SignatureDoesNotMatch", 403, "Signature expired: ")
}

func s3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

func TestSDKS3(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name := "http"
		if tls {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			srv := newTestServer(t, tls)
			ctx := context.Background()
			c := s3Client(srv.sdkConfig(testKeyID, testSecret, ""))
			body := bytes.Repeat([]byte("hangar "), 20000)
			// With a checksum asked for, the SDK sends it as a header and a hex
			// payload hash over HTTP, and over TLS as a trailer of an
			// aws-chunked body (STREAMING-UNSIGNED-PAYLOAD-TRAILER), which
			// reaches the handler as sent: decoding it is the S3 service's
			// job (internal/server tests the two together).
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/a b+c.txt"),
				Body: bytes.NewReader(body), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32})
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			srv.objects.mu.Lock()
			stored := srv.objects.objects["/bkt/dir/a b+c.txt"]
			enc := srv.objects.encodings["/bkt/dir/a b+c.txt"]
			srv.objects.mu.Unlock()
			if tls {
				if !strings.Contains(enc, "aws-chunked") || !bytes.Contains(stored, []byte("\r\nx-amz-checksum-crc32:")) ||
					len(stored) <= len(body) {
					t.Fatalf("stored %d bytes with Content-Encoding %q, want the aws-chunked body as sent", len(stored), enc)
				}
			} else if !bytes.Equal(stored, body) {
				t.Fatalf("stored %d bytes, want %d", len(stored), len(body))
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/a b+c.txt")})
			if err != nil {
				t.Fatalf("GetObject: %v", err)
			}
			got, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if !bytes.Equal(got, stored) {
				t.Fatalf("GetObject returned %d bytes, want %d", len(got), len(stored))
			}

			_, err = s3Client(srv.sdkConfig(testKeyID, "wrong", "")).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
			wantAPIError(t, err, "SignatureDoesNotMatch", 403, msgS3SigMismatch)
			_, err = s3Client(srv.sdkConfig("AKIDUNKNOWN000000000", "wrong", "")).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
			wantAPIError(t, err, "InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.")
			_, err = s3Client(srv.sdkConfig(expiredKeyID, tempSecret, tempToken)).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
			wantAPIError(t, err, "ExpiredToken", 400, "The provided token has expired.")
			_, err = s3Client(srv.sdkConfig(tempKeyID, tempSecret, "wrong-token")).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
			wantAPIError(t, err, "InvalidToken", 400, "The provided token is malformed or otherwise invalid.")
			srv.clock.shift(-16 * time.Minute)
			_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
			wantAPIError(t, err, "RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large.")
		})
	}
}

func TestS3PresignedGet(t *testing.T) {
	srv := newTestServer(t, false)
	ctx := context.Background()
	c := s3Client(srv.sdkConfig(testKeyID, testSecret, ""))
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("p/x.bin"), Body: strings.NewReader("presigned content")}); err != nil {
		t.Fatal(err)
	}
	ps := s3.NewPresignClient(c)
	req, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("p/x.bin")},
		s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	get := func(u string) (int, string) {
		resp, err := srv.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.Header.Get("X-Amz-Request-Id") == "" {
			t.Errorf("S3 response without x-amz-request-id: %v", resp.Header)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(req.URL); code != 200 || body != "presigned content" {
		t.Fatalf("presigned GET: %d %s", code, body)
	}
	tampered := strings.Replace(req.URL, "p/x.bin", "p/y.bin", 1)
	if code, body := get(tampered); code != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("tampered URL: %d %s", code, body)
	}
	u, _ := url.Parse(req.URL)
	q := u.Query()
	q.Del("X-Amz-Expires")
	u.RawQuery = q.Encode()
	if code, body := get(u.String()); code != 400 || !strings.Contains(body, "<Code>AuthorizationQueryParametersError</Code>") {
		t.Fatalf("URL without X-Amz-Expires: %d %s", code, body)
	}
	// Signature Version 2 query strings missing a part: S3's 403.
	v2 := srv.URL + "/bkt/p/x.bin?AWSAccessKeyId=" + testKeyID + "&Expires=9999999999"
	if code, body := get(v2); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code><Message>Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters</Message>") {
		t.Fatalf("version 2 URL without Signature: %d %s", code, body)
	}
	srv.clock.shift(2 * time.Minute)
	if code, body := get(req.URL); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code><Message>Request has expired</Message>") ||
		!strings.Contains(body, "<X-Amz-Expires>60</X-Amz-Expires>") {
		t.Fatalf("expired presigned GET: %d %s", code, body)
	}
}

// signRaw signs a hand-made request with the SDK's own signer, for bodies
// no SDK client would send.
func signRaw(t *testing.T, req *http.Request, body []byte, service, payloadHash string) {
	t.Helper()
	if payloadHash == "" {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	}
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestS3ContentSHA256Mismatch(t *testing.T) {
	srv := newTestServer(t, false)
	body := []byte("what was sent")
	other := sha256.Sum256([]byte("what was signed"))
	req, _ := http.NewRequest("PUT", srv.URL+"/bkt/obj", bytes.NewReader(body))
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(other[:]))
	signRaw(t, req, body, "s3", hex.EncodeToString(other[:]))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "<Code>XAmzContentSHA256Mismatch</Code>") ||
		!strings.Contains(string(b), "<ClientComputedContentSHA256>"+hex.EncodeToString(other[:])) {
		t.Fatalf("status %d body %s", resp.StatusCode, b)
	}
	srv.objects.mu.Lock()
	_, stored := srv.objects.objects["/bkt/obj"]
	srv.objects.mu.Unlock()
	if stored {
		t.Fatal("object stored despite the hash mismatch")
	}
}

func TestSDKValidation(t *testing.T) {
	srv := newTestServer(t, false)
	ctx := context.Background()
	cfg := srv.sdkConfig(testKeyID, testSecret, "")
	cb := codebuild.NewFromConfig(cfg)
	project := func(name string, timeout int32, compute cbtypes.ComputeType) *codebuild.CreateProjectInput {
		return &codebuild.CreateProjectInput{
			Name:        aws.String(name),
			Source:      &cbtypes.ProjectSource{Type: cbtypes.SourceTypeNoSource, Buildspec: aws.String("version: 0.2")},
			Artifacts:   &cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeNoArtifacts},
			Environment: &cbtypes.ProjectEnvironment{Type: cbtypes.EnvironmentTypeLinuxContainer, Image: aws.String("img"), ComputeType: compute},
			ServiceRole: aws.String("arn:aws:iam::000000000000:role/r"),
			// Members the handler's Go struct does not declare.
			LogsConfig:       &cbtypes.LogsConfig{CloudWatchLogs: &cbtypes.CloudWatchLogsConfig{Status: cbtypes.LogsConfigStatusTypeEnabled}},
			TimeoutInMinutes: aws.Int32(timeout),
		}
	}
	out, err := cb.CreateProject(ctx, project("good-name", 60, cbtypes.ComputeTypeBuildGeneral1Small))
	if err != nil {
		t.Fatalf("valid CreateProject: %v", err)
	}
	if aws.ToString(out.Project.Name) != "good-name" || aws.ToInt32(out.Project.TimeoutInMinutes) != 60 {
		t.Fatalf("CreateProject echoed %+v", out.Project)
	}

	_, err = cb.CreateProject(ctx, project("a$", 60, cbtypes.ComputeTypeBuildGeneral1Small))
	var iie *cbtypes.InvalidInputException
	if !errors.As(err, &iie) {
		t.Fatalf("want *types.InvalidInputException, got %T %v", err, err)
	}
	want := `1 validation error detected: Value 'a$' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9\-_]{1,149}`
	if iie.ErrorMessage() != want {
		t.Fatalf("message\n%s\nwant\n%s", iie.ErrorMessage(), want)
	}

	_, err = cb.CreateProject(ctx, project("good-name", 2161, "HUGE"))
	if !errors.As(err, &iie) {
		t.Fatalf("want *types.InvalidInputException, got %T %v", err, err)
	}
	want = "2 validation errors detected: Value 'HUGE' at 'environment.computeType' failed to satisfy constraint: Member must satisfy enum value set: [" +
		"BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM, BUILD_GENERAL1_LARGE, BUILD_GENERAL1_XLARGE, BUILD_GENERAL1_2XLARGE, BUILD_LAMBDA_1GB, BUILD_LAMBDA_2GB, " +
		"BUILD_LAMBDA_4GB, BUILD_LAMBDA_8GB, BUILD_LAMBDA_10GB, ATTRIBUTE_BASED_COMPUTE, CUSTOM_INSTANCE_TYPE]; " +
		"Value '2161' at 'timeoutInMinutes' failed to satisfy constraint: Member must have value less than or equal to 2160"
	if iie.ErrorMessage() != want {
		t.Fatalf("message\n%s\nwant\n%s", iie.ErrorMessage(), want)
	}

	_, err = cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("bad name!")})
	var ipe *logstypes.InvalidParameterException
	if !errors.As(err, &ipe) || ipe.ErrorMessage() != `1 validation error detected: Value 'bad name!' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+` {
		t.Fatalf("CreateLogGroup: %T %v", err, err)
	}
	_, err = cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{
		LogGroupName: aws.String("/ok"), Tags: map[string]string{"ok": "v", "bad key!": "v"}})
	if !errors.As(err, &ipe) || !strings.Contains(ipe.ErrorMessage(), "at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [") {
		t.Fatalf("CreateLogGroup tags: %T %v", err, err)
	}

	_, err = ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/p"), Value: aws.String("hunter2"), Type: "Bogus"})
	var ve *ssmtypes.ValidationException
	if !errors.As(err, &ve) || ve.ErrorMessage() != "1 validation error detected: Value 'Bogus' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [String, StringList, SecureString]" {
		t.Fatalf("PutParameter: %T %v", err, err)
	}

	_, err = secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("")})
	wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value '' at 'secretId' failed to satisfy constraint: Member must have length greater than or equal to 1")

	ic := iam.NewFromConfig(cfg)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("builder"), AssumeRolePolicyDocument: aws.String("{}"),
		Path: aws.String("/hangar/"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("ci")}, {Key: aws.String("env"), Value: aws.String("dev")}}})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	if aws.ToString(role.Role.Arn) != "arn:aws:iam::000000000000:role/hangar/builder" || len(role.Role.Tags) != 2 ||
		aws.ToString(role.Role.Tags[1].Value) != "dev" {
		t.Fatalf("CreateRole returned %+v", role.Role)
	}
	_, err = ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bad name"), AssumeRolePolicyDocument: aws.String("{}"),
		Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String("ok")}, {Key: aws.String("k2"), Value: aws.String("bad&value")}}})
	wantAPIError(t, err, "ValidationError", 400, `2 validation errors detected: Value 'bad name' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+; `+
		`Value 'bad&value' at 'tags.2.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
	if _, err := ic.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("builder")}); err != nil {
		t.Fatalf("DeleteRole: %v", err)
	}
}

func TestSerializationErrors(t *testing.T) {
	srv := newTestServer(t, false)
	cases := []struct{ body, want string }{
		{`{"name": 5}`, "NUMBER_VALUE can not be converted to a String at 'name'"},
		{`{"name": "ok-name", "timeoutInMinutes": "60"}`, "STRING_VALUE can not be converted to an Integer at 'timeoutInMinutes'"},
		{`{"name": "ok-name", "environment": []}`, "Start of list found where not expected at 'environment'"},
		{`{"name": "ok-name", "nmae": "x"}`, `Unrecognized field \"nmae\"`},
		{`{"environment": {"privilegedMode": "yes"}}`, "STRING_VALUE can not be converted to a Boolean at 'environment.privilegedMode'"},
		{`{"name": "x", `, "Malformed JSON"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(c.body))
		req.Header.Set("Content-Type", ContentTypeJSON)
		req.Header.Set("X-Amz-Target", "CodeBuild_20161006.CreateProject")
		signRaw(t, req, []byte(c.body), "codebuild", "")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "SerializationException" || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: status %d body %s, want SerializationException %q", c.body, resp.StatusCode, b, c.want)
		}
	}
}
