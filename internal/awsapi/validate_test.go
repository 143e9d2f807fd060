package awsapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func mustValidator(t testing.TB, service string) *Validator {
	t.Helper()
	v, err := NewValidator(service)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAllModelsLoad(t *testing.T) {
	want := map[string]string{
		"codebuild": "InvalidInputException", "logs": "InvalidParameterException", "ssm": "ValidationException",
		"secretsmanager": "ValidationException", "iam": "ValidationError", "sts": "ValidationError",
	}
	for svc, code := range want {
		v := mustValidator(t, svc)
		if v.ExceptionCode() != code || v.Service() != svc {
			t.Errorf("%s: code %s, want %s", svc, v.ExceptionCode(), code)
		}
	}
	if !mustValidator(t, "codebuild").HasOperation("StartBuild") || mustValidator(t, "codebuild").HasOperation("DeleteWebhook") {
		t.Error("codebuild model must have StartBuild and only the served operations")
	}
	if _, err := NewValidator("lambda"); err == nil {
		t.Error("a model that is not embedded must be an error")
	}
}

func TestValidateJSON(t *testing.T) {
	cases := []struct {
		service, op, body string
		code, msg         string // code "" means valid
	}{
		{"codebuild", "StartBuild", `{"projectName":"p"}`, "", ""},
		{"codebuild", "StartBuild", ``, "InvalidInputException",
			"1 validation error detected: Value null at 'projectName' failed to satisfy constraint: Member must not be null"},
		{"codebuild", "StartBuild", `null`, "InvalidInputException",
			"1 validation error detected: Value null at 'projectName' failed to satisfy constraint: Member must not be null"},
		{"codebuild", "StartBuild", `{"projectName":null}`, "InvalidInputException",
			"1 validation error detected: Value null at 'projectName' failed to satisfy constraint: Member must not be null"},
		{"codebuild", "StartBuild", `{"projectName":"p","environmentVariablesOverride":[{"name":"A","value":"1"},{"name":"","value":"2","type":"SECRET"}]}`,
			"InvalidInputException",
			"2 validation errors detected: Value '' at 'environmentVariablesOverride.2.member.name' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value 'SECRET' at 'environmentVariablesOverride.2.member.type' failed to satisfy constraint: Member must satisfy enum value set: [PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER]"},
		{"codebuild", "StartBuild", `{"projectName":"p","environmentVariablesOverride":[{"value":"1"}]}`, "InvalidInputException",
			"1 validation error detected: Value null at 'environmentVariablesOverride.1.member.name' failed to satisfy constraint: Member must not be null"},
		{"codebuild", "StartBuild", `{"projectName":"p","environmentVariablesOverride":[null]}`, "InvalidInputException",
			"1 validation error detected: Value null at 'environmentVariablesOverride.1.member' failed to satisfy constraint: Member must not be null"},
		{"codebuild", "StartBuild", `{"projectName":"p","timeoutInMinutesOverride":4}`, "InvalidInputException",
			"1 validation error detected: Value '4' at 'timeoutInMinutesOverride' failed to satisfy constraint: Member must have value greater than or equal to 5"},
		{"codebuild", "StartBuild", `{"projectName":"p","timeoutInMinutesOverride":4.5}`, "SerializationException",
			"NUMBER_VALUE 4.5 can not be converted to an Integer at 'timeoutInMinutesOverride'"},
		{"codebuild", "StartBuild", `{"projectName":"p","timeoutInMinutesOverride":99999999999}`, "SerializationException",
			"NUMBER_VALUE 99999999999 can not be converted to an Integer at 'timeoutInMinutesOverride'"},
		{"codebuild", "StartBuild", `{"projectName":"p","environmentVariablesOverride":{"name":"x"}}`, "SerializationException",
			"Start of structure or map found where not expected at 'environmentVariablesOverride'"},
		{"codebuild", "StartBuild", `{"projectName":"p","environmentVariablesOverride":[{"name":"A","value":"1","secret":true}]}`, "SerializationException",
			`Unrecognized field "secret" in 'environmentVariablesOverride.1.member'`},
		{"codebuild", "StartBuild", `[]`, "SerializationException", "Start of list found where not expected"},
		{"codebuild", "StartBuild", strings.Repeat(`{"a":`, 101) + "1" + strings.Repeat("}", 101), "SerializationException",
			"JSON nesting is deeper than 100 levels"},
		{"codebuild", "StartBuild", `{"projectName":"p"} {}`, "SerializationException", "Unexpected content after the request body"},
		{"codebuild", "BatchGetBuilds", `{"ids":[]}`, "InvalidInputException",
			"1 validation error detected: Value '[]' at 'ids' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"codebuild", "CreateProject", `{"name":"p!","source":{"type":"NO_SOURCE"},"artifacts":{"type":"NO_ARTIFACTS"},"environment":{"type":"LINUX_CONTAINER","image":"i","computeType":"BUILD_GENERAL1_SMALL"},"serviceRole":"r","tags":[{"key":"k","value":"v<"}]}`,
			"InvalidInputException",
			`2 validation errors detected: Value 'p!' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9\-_]{1,149}; ` +
				`Value 'v<' at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=@+\-]*)$`},
		// A pattern must match the whole value, not a part of it.
		{"codebuild", "CreateProject", `{"name":"ok-then-$$$","source":{"type":"NO_SOURCE"},"artifacts":{"type":"NO_ARTIFACTS"},"environment":{"type":"LINUX_CONTAINER","image":"i","computeType":"BUILD_GENERAL1_SMALL"},"serviceRole":"r"}`,
			"InvalidInputException",
			`1 validation error detected: Value 'ok-then-$$$' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9\-_]{1,149}`},
		{"codebuild", "CreateProject", `{"name":"` + strings.Repeat("n", 151) + `","source":{"type":"NO_SOURCE"},"artifacts":{"type":"NO_ARTIFACTS"},"environment":{"type":"LINUX_CONTAINER","image":"i","computeType":"BUILD_GENERAL1_SMALL"},"serviceRole":"r"}`,
			"InvalidInputException",
			`2 validation errors detected: Value '` + strings.Repeat("n", 151) + `' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9\-_]{1,149}; ` +
				`Value '` + strings.Repeat("n", 151) + `' at 'name' failed to satisfy constraint: Member must have length less than or equal to 150`},
		{"ssm", "PutParameter", `{"Name":"/a","Value":"v","Overwrite":"yes"}`, "SerializationException",
			"STRING_VALUE can not be converted to a Boolean at 'overwrite'"},
		{"ssm", "GetParameters", `{"Names":["a","b"],"WithDecryption":true}`, "", ""},
		// Sensitive values stay out of messages.
		{"secretsmanager", "CreateSecret", `{"Name":"n","SecretString":""}`, "ValidationException",
			"1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"secretsmanager", "CreateSecret", `{"Name":"n","SecretBinary":"not base64!"}`, "SerializationException", "Invalid base64 value at 'secretBinary'"},
		{"secretsmanager", "CreateSecret", `{"Name":"n","SecretBinary":"aGk="}`, "", ""},
		{"logs", "CreateLogGroup", `{"logGroupName":"g","tags":{"a":"` + strings.Repeat("v", 257) + `"}}`, "InvalidParameterException",
			"1 validation error detected: Value '{a=" + strings.Repeat("v", 257) + "}' at 'tags' failed to satisfy constraint: Map value must satisfy constraint: " +
				`[Member must have length less than or equal to 256, Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$]`},
		{"logs", "CreateLogGroup", `{"logGroupName":"g","tags":{}}`, "InvalidParameterException",
			"1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"logs", "GetLogEvents", `{"logStreamName":"s","startFromHead":true,"limit":10001}`, "InvalidParameterException",
			"1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000"},
		// The Go SDK sends startFromHead on FilterLogEvents, which botocore
		// models only on GetLogEvents (modelgen's extraMembers); its type
		// is still checked, and other unknown members are still refused.
		{"logs", "FilterLogEvents", `{"logGroupName":"g","startFromHead":true}`, "", ""},
		{"logs", "FilterLogEvents", `{"logGroupName":"g","startFromHead":"yes"}`, "SerializationException",
			"STRING_VALUE can not be converted to a Boolean at 'startFromHead'"},
		{"logs", "FilterLogEvents", `{"logGroupName":"g","fromHead":true}`, "SerializationException", `Unrecognized field "fromHead"`},
		// Unknown operations are left to the service (UnknownOperationException).
		{"logs", "DeleteEverything", `{"x":1}`, "", ""},
	}
	for _, c := range cases {
		e := mustValidator(t, c.service).Validate(c.op, []byte(c.body))
		switch {
		case c.code == "" && e != nil:
			t.Errorf("%s %s %s: unexpected %v", c.service, c.op, c.body, e)
		case c.code != "" && e == nil:
			t.Errorf("%s %s %s: no error, want %s", c.service, c.op, c.body, c.code)
		case c.code != "" && (e.Code != c.code || !strings.HasPrefix(e.Message, c.msg) || e.Status != 400):
			t.Errorf("%s %s %s:\n got %s %d: %s\nwant %s: %s", c.service, c.op, c.body, e.Code, e.Status, e.Message, c.code, c.msg)
		}
	}
}

func TestValidateForm(t *testing.T) {
	v := mustValidator(t, "iam")
	cases := []struct {
		op, form, msg string
	}{
		{"CreateRole", "RoleName=r&AssumeRolePolicyDocument=%7B%7D&Tags.member.1.Key=k&Tags.member.1.Value=v", ""},
		{"CreateRole", "AssumeRolePolicyDocument=%7B%7D", "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null"},
		{"CreateRole", "RoleName=r&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=60",
			"1 validation error detected: Value '60' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600"},
		{"CreateRole", "RoleName=r&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=lots",
			"1 validation error detected: Value 'lots' at 'maxSessionDuration' failed to satisfy constraint: Member must be an integer"},
		{"CreateRole", "RoleName=r&AssumeRolePolicyDocument=%7B%7D&Path=nope",
			"1 validation error detected: Value 'nope' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"},
		{"CreateRole", "RoleName=r&AssumeRolePolicyDocument=%7B%7D&Tags.member.3.Key=k",
			"1 validation error detected: Value null at 'tags.3.member.value' failed to satisfy constraint: Member must not be null"},
		{"ListRoles", "MaxItems=0", "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"ListRoles", "Unknown=1", ""},
	}
	for _, c := range cases {
		form, err := url.ParseQuery(c.form)
		if err != nil {
			t.Fatal(err)
		}
		e := v.ValidateForm(c.op, form)
		if c.msg == "" {
			if e != nil {
				t.Errorf("%s %s: unexpected %v", c.op, c.form, e)
			}
			continue
		}
		if e == nil || e.Code != "ValidationError" || e.Message != c.msg {
			t.Errorf("%s %s:\n got %v\nwant ValidationError: %s", c.op, c.form, e, c.msg)
		}
	}
	if e := mustValidator(t, "sts").ValidateForm("AssumeRole", url.Values{"RoleArn": {"short"}, "RoleSessionName": {"a:b"}}); e == nil ||
		e.Message != `2 validation errors detected: Value 'short' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; `+
			`Value 'a:b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*` {
		t.Errorf("sts AssumeRole: %v", e)
	}
}

// JSONService decodes strictly without a validator and leaves unknown
// members to the model with one.
func TestJSONServiceStrictness(t *testing.T) {
	call := func(s *JSONService, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", s.TargetPrefix+".StartBuild")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	handler := func(ctx context.Context, in *struct {
		ProjectName string `json:"projectName"`
	}) (*struct{}, error) {
		return &struct{}{}, nil
	}
	plain := &JSONService{TargetPrefix: "CodeBuild_20161006"}
	Handle(plain, "StartBuild", handler)
	if rec := call(plain, `{"projectName":"p","sourceVersion":"main"}`); rec.Code != 400 || rec.Header().Get("X-Amzn-ErrorType") != "SerializationException" {
		t.Fatalf("without a validator, members the struct lacks are refused: %d %s", rec.Code, rec.Body)
	}
	withModel, err := NewJSONService("codebuild", nil)
	if err != nil {
		t.Fatal(err)
	}
	Handle(withModel, "StartBuild", handler)
	if rec := call(withModel, `{"projectName":"p","sourceVersion":"main"}`); rec.Code != http.StatusOK {
		t.Fatalf("a model member the struct lacks must pass: %d %s", rec.Code, rec.Body)
	}
	if rec := call(withModel, `{"projectName":"p","sourceVersio":"main"}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), `Unrecognized field \"sourceVersio\"`) {
		t.Fatalf("a member the model lacks must be refused: %d %s", rec.Code, rec.Body)
	}
}

func TestJavaPatternTranslation(t *testing.T) {
	cases := []struct {
		pattern string
		match   []string
		reject  []string
	}{
		{`[\w-_]*`, []string{"a-b_c", ""}, []string{"a b"}},
		{`[\u0020-\u00FF]+`, []string{"héllo"}, []string{"\t", "ā"}},
		{`\u002F[\u0021-\u007F]*`, []string{"/abc/"}, []string{"abc"}},
		{`tag:.+|Name|Type`, []string{"Name", "tag:x"}, []string{"NameX", "xName"}},
		{`[\p{L}\p{Z}\p{N}_.:/=+\-@]*`, []string{"Ünïcode 12"}, []string{"a&b"}},
	}
	for _, c := range cases {
		re, err := compileModelPattern(c.pattern)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		for _, s := range c.match {
			if !re.MatchString(s) {
				t.Errorf("%s must match %q", c.pattern, s)
			}
		}
		for _, s := range c.reject {
			if re.MatchString(s) {
				t.Errorf("%s must not match %q", c.pattern, s)
			}
		}
	}
}
