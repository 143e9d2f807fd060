package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/smithy-go"
)

// TestBadInput sends malformed requests, signed with the runner's own key,
// straight to the server: each is refused in AWS's JSON error shape with
// AWS's exception name, and nothing the runner keeps changes.
func TestBadInput(t *testing.T) {
	r := StartRunner(t)
	CreateProject(t, r.CodeBuild(), "bi-proj", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n")
	mustOK(t, r.JSONCall("AmazonSSM.PutParameter", []byte(`{"Name":"/bi/p","Value":"v","Type":"String"}`)))
	mustOK(t, r.JSONCall("secretsmanager.CreateSecret", []byte(`{"Name":"bi/s","SecretString":"v","ClientRequestToken":"00000000-0000-4000-8000-000000000001"}`)))
	before := badInputSnapshot(t, r)

	project := func(extra string) string {
		return `{"name":"bi-new","source":{"type":"NO_SOURCE"},"artifacts":{"type":"NO_ARTIFACTS"},` +
			`"environment":{"type":"LINUX_CONTAINER","image":"i","computeType":"BUILD_GENERAL1_SMALL"},"serviceRole":"r"` + extra + `}`
	}
	cases := []struct {
		name, target, body string
		code, msg          string
	}{
		{"MalformedJSON", "CodeBuild_20161006.CreateProject", `{"name": "bi-new",`, "SerializationException", "Malformed JSON"},
		{"NotAnObject", "CodeBuild_20161006.ListProjects", `["x"]`, "SerializationException", "Start of list found where not expected"},
		{"TrailingGarbage", "CodeBuild_20161006.ListProjects", `{} x`, "SerializationException", ""},
		{"WrongTypeString", "CodeBuild_20161006.CreateProject", strings.Replace(project(""), `"bi-new"`, `5`, 1), "SerializationException", "name"},
		{"WrongTypeInteger", "CodeBuild_20161006.CreateProject", project(`,"timeoutInMinutes":"60"`), "SerializationException", "timeoutInMinutes"},
		{"WrongTypeInUpdate", "CodeBuild_20161006.UpdateProject", `{"name":"bi-proj","description":"changed","badgeEnabled":"yes"}`, "SerializationException", "badgeEnabled"},
		{"WrongTypeList", "CodeBuild_20161006.BatchGetBuilds", `{"ids":"bi-proj:x"}`, "SerializationException", "ids"},
		{"MissingRequired", "CodeBuild_20161006.CreateProject", `{"name":"bi-new"}`, "InvalidInputException",
			"4 validation errors detected: Value null at 'source' failed to satisfy constraint: Member must not be null"},
		{"MissingRequiredStart", "CodeBuild_20161006.StartBuild", `{}`, "InvalidInputException",
			"Value null at 'projectName' failed to satisfy constraint: Member must not be null"},
		{"NameOutOfPattern", "CodeBuild_20161006.CreateProject", strings.Replace(project(""), `"bi-new"`, `"bi new!"`, 1), "InvalidInputException",
			`Value 'bi new!' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9\-_]{1,149}`},
		{"NameTooLong", "CodeBuild_20161006.CreateProject", strings.Replace(project(""), `"bi-new"`, `"`+strings.Repeat("n", 151)+`"`, 1), "InvalidInputException",
			"Member must have length less than or equal to 150"},
		{"BadEnum", "CodeBuild_20161006.CreateProject", strings.Replace(project(""), `"NO_SOURCE"`, `"FTP"`, 1), "InvalidInputException",
			"Value 'FTP' at 'source.type' failed to satisfy constraint: Member must satisfy enum value set"},
		{"UnknownMember", "CodeBuild_20161006.CreateProject", project(`,"bogus":1`), "SerializationException", `Unrecognized field "bogus"`},
		{"UnknownNestedMember", "CodeBuild_20161006.UpdateProject", `{"name":"bi-proj","description":"changed","environment":{"type":"LINUX_CONTAINER","image":"i","computeType":"BUILD_GENERAL1_SMALL","gpu":true}}`,
			"SerializationException", `Unrecognized field "gpu" in 'environment'`},
		{"UnknownOperation", "CodeBuild_20161006.DeleteEverything", `{}`, "UnknownOperationException", "DeleteEverything"},
		{"UnknownService", "Nope_20200101.List", `{}`, "UnknownOperationException", "Nope_20200101.List"},
		{"SSMWrongType", "AmazonSSM.PutParameter", `{"Name":"/bi/q","Value":"v","Overwrite":"yes"}`, "SerializationException", "overwrite"},
		{"SSMMissingRequired", "AmazonSSM.PutParameter", `{"Name":"/bi/q"}`, "ValidationException", "Value null at 'value' failed to satisfy constraint: Member must not be null"},
		{"SSMBadName", "AmazonSSM.PutParameter", `{"Name":"/bi/bad name!","Value":"v","Type":"String"}`, "ValidationException", ""},
		{"SSMUnknownMember", "AmazonSSM.GetParameter", `{"Name":"/bi/p","Decrypt":true}`, "SerializationException", `Unrecognized field "Decrypt"`},
		{"SSMMalformed", "AmazonSSM.DeleteParameter", `{"Name":`, "SerializationException", ""},
		{"SSMUnknownOperation", "AmazonSSM.StartSession", `{}`, "UnknownOperationException", "StartSession"},
		{"SecretsMissingRequired", "secretsmanager.GetSecretValue", `{}`, "ValidationException", "Value null at 'secretId' failed to satisfy constraint"},
		{"SecretsWrongType", "secretsmanager.DeleteSecret", `{"SecretId":"bi/s","RecoveryWindowInDays":"7"}`, "SerializationException", "recoveryWindowInDays"},
		{"SecretsUnknownMember", "secretsmanager.PutSecretValue", `{"SecretId":"bi/s","SecretString":"w","Force":true}`, "SerializationException", `Unrecognized field "Force"`},
		{"LogsWrongType", "Logs_20140328.GetLogEvents", `{"logGroupName":"/g","logStreamName":"s","limit":"10"}`, "SerializationException", "limit"},
		{"LogsMissingRequired", "Logs_20140328.GetLogEvents", `{"logGroupName":"/g"}`, "InvalidParameterException", "Value null at 'logStreamName'"},
		{"LogsNameOutOfPattern", "Logs_20140328.DescribeLogStreams", `{"logGroupName":"bad group!"}`, "InvalidParameterException", "logGroupName"},
		{"LogsUnknownOperation", "Logs_20140328.PutRetentionPolicy", `{}`, "UnknownOperationException", "PutRetentionPolicy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := r.JSONCall(c.target, []byte(c.body))
			logAttack(t, "bad JSON request "+c.name+" ("+c.target+")", fmt.Sprintf("%d %s", raw.Status, raw.Body))
			wantJSONError(t, raw, http.StatusBadRequest, c.code, c.msg)
		})
	}

	// Bodies over the JSON limit (8 MiB) are refused with 413, by the
	// service and, past 16 MiB, already while the signature is checked.
	// (Just past 16 MiB, so the server drains the little it leaves unread
	// and the client is never cut off while it writes.)
	t.Run("Oversized", func(t *testing.T) {
		for _, size := range []int{9 << 20, 16<<20 + 64<<10} {
			body := project(`,"description":"` + strings.Repeat("x", size) + `"`)
			raw := r.JSONCall("CodeBuild_20161006.CreateProject", []byte(body))
			logAttack(t, fmt.Sprintf("CreateProject body of %d MiB", size>>20), fmt.Sprintf("%d %s", raw.Status, raw.Body))
			wantJSONError(t, raw, http.StatusRequestEntityTooLarge, "SerializationException", "Request body is larger than")
		}
		// The SDK reads that answer as the API error it names.
		_, err := r.CodeBuild().CreateProject(bg, &codebuild.CreateProjectInput{
			Name: aws.String("bi-big"), Description: aws.String(strings.Repeat("x", 9<<20)),
			Source: projectInput("x", "").Source, Artifacts: projectInput("x", "").Artifacts,
			Environment: projectInput("x", "").Environment, ServiceRole: aws.String(testRole),
		}, func(o *codebuild.Options) { o.RetryMaxAttempts = 1 })
		var re interface{ HTTPStatusCode() int }
		if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusRequestEntityTooLarge {
			t.Errorf("SDK error %v, want HTTP 413", err)
		}
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "SerializationException" {
			t.Errorf("SDK error %v, want SerializationException", err)
		}
	})

	// An empty body is an empty input, as AWS JSON services accept it.
	t.Run("EmptyBody", func(t *testing.T) {
		raw := r.JSONCall("CodeBuild_20161006.ListProjects", nil)
		if raw.Status != 200 || !bytes.Contains(raw.Body, []byte(`"bi-proj"`)) {
			t.Errorf("empty body: %d %s", raw.Status, raw.Body)
		}
	})

	if after := badInputSnapshot(t, r); after != before {
		t.Errorf("bad requests changed the runner's state:\nbefore %s\nafter  %s", before, after)
	}
}

func mustOK(t *testing.T, raw Raw) {
	t.Helper()
	if raw.Status != 200 {
		t.Fatalf("status %d: %s", raw.Status, raw.Body)
	}
}

// wantJSONError checks an AWS JSON 1.1 error answer.
func wantJSONError(t *testing.T, raw Raw, status int, code, msg string) {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(raw.Body, &body); err != nil {
		t.Fatalf("error body is not JSON (%v): %s", err, raw.Body)
	}
	m, _ := body["message"].(string)
	if raw.Status != status || body["__type"] != code || raw.Header.Get("X-Amzn-ErrorType") != code || m == "" || !strings.Contains(m, msg) {
		t.Errorf("got %d %s (header %s): %s\nwant %d %s with a message containing %q",
			raw.Status, body["__type"], raw.Header.Get("X-Amzn-ErrorType"), raw.Body, status, code, msg)
	}
	if len(body) != 2 {
		t.Errorf("error body has members beside __type and message: %s", raw.Body)
	}
	if ct := raw.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type %q", ct)
	}
	if raw.Header.Get("X-Amzn-RequestId") == "" {
		t.Errorf("no x-amzn-RequestId")
	}
}

// badInputSnapshot is everything the list and describe calls show, as one string.
func badInputSnapshot(t *testing.T, r *Runner) string {
	t.Helper()
	var b strings.Builder
	for _, c := range []struct{ target, body string }{
		{"CodeBuild_20161006.ListProjects", `{}`},
		{"CodeBuild_20161006.BatchGetProjects", `{"names":["bi-proj","bi-new","bi-big"]}`},
		{"CodeBuild_20161006.ListBuilds", `{}`},
		{"AmazonSSM.DescribeParameters", `{}`},
		{"AmazonSSM.GetParameters", `{"Names":["/bi/p","/bi/q"]}`},
		// Reading the value first sets LastAccessedDate (a day) before
		// ListSecrets shows it.
		{"secretsmanager.GetSecretValue", `{"SecretId":"bi/s"}`},
		{"secretsmanager.ListSecrets", `{}`},
		{"Logs_20140328.DescribeLogGroups", `{}`},
	} {
		raw := r.JSONCall(c.target, []byte(c.body))
		mustOK(t, raw)
		b.WriteString(c.target + " " + string(raw.Body) + "\n")
	}
	return b.String()
}
