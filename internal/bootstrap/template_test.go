package bootstrap

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/goccy/go-yaml"
)

type tmpl struct {
	AWSTemplateFormatVersion string
	Resources                map[string]struct {
		Type       string
		Properties map[string]any
	}
	Outputs map[string]any
}

func parseTemplate(t *testing.T, yml string) tmpl {
	t.Helper()
	b, err := Template(loadConfig(t, yml))
	if err != nil {
		t.Fatal(err)
	}
	var j tmpl
	var y struct {
		Resources map[string]any `yaml:"Resources"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatalf("template is not JSON: %v\n%s", err, b)
	}
	// CloudFormation takes YAML too; JSON is YAML.
	if err := yaml.Unmarshal(b, &y); err != nil {
		t.Fatalf("template is not YAML: %v", err)
	}
	if len(y.Resources) != len(j.Resources) {
		t.Fatalf("YAML sees %d resources, JSON %d", len(y.Resources), len(j.Resources))
	}
	if j.AWSTemplateFormatVersion != "2010-09-09" {
		t.Errorf("version %q", j.AWSTemplateFormatVersion)
	}
	return j
}

func types(tp tmpl) map[string]string {
	m := map[string]string{}
	for id, r := range tp.Resources {
		m[id] = r.Type
	}
	return m
}

func TestTemplateDefaults(t *testing.T) {
	tp := parseTemplate(t, "project: demo\n")
	want := map[string]string{"Bucket": "AWS::S3::Bucket", "CodebuildRole": "AWS::IAM::Role", "Codebuild": "AWS::CodeBuild::Project"}
	if got := types(tp); len(got) != len(want) || got["Bucket"] != want["Bucket"] || got["CodebuildRole"] != want["CodebuildRole"] || got["Codebuild"] != want["Codebuild"] {
		t.Fatalf("resources %v, want %v", got, want)
	}
	role := tp.Resources["CodebuildRole"].Properties
	if role["RoleName"] != "demo-dev-codebuild-role" {
		t.Errorf("role name %v", role["RoleName"])
	}
	var names []string
	for _, p := range role["Policies"].([]any) {
		pm := p.(map[string]any)
		names = append(names, pm["PolicyName"].(string))
		if _, ok := pm["PolicyDocument"].(map[string]any)["Statement"]; !ok {
			t.Errorf("policy %v has no statements", pm)
		}
	}
	if !slices.Equal(names, []string{"DefaultPolicy", "VpcPolicy"}) {
		t.Errorf("policies %v", names)
	}
	if len(role["ManagedPolicyArns"].([]any)) != 2 {
		t.Errorf("managed %v", role["ManagedPolicyArns"])
	}
	proj := tp.Resources["Codebuild"].Properties
	env := proj["Environment"].(map[string]any)
	if proj["Name"] != "demo-dev-remote" || env["PrivilegedMode"] != true || env["ComputeType"] != "BUILD_GENERAL1_SMALL" || proj["TimeoutInMinutes"] != float64(60) {
		t.Errorf("project %v", proj)
	}
	if proj["Cache"].(map[string]any)["Type"] != "LOCAL" || proj["Source"].(map[string]any)["Type"] != "NO_SOURCE" || proj["Artifacts"].(map[string]any)["Type"] != "NO_ARTIFACTS" {
		t.Errorf("project %v", proj)
	}
	if sr, _ := json.Marshal(proj["ServiceRole"]); string(sr) != `{"Fn::GetAtt":["CodebuildRole","Arn"]}` {
		t.Errorf("service role %s", sr)
	}
	if bn, _ := json.Marshal(tp.Resources["Bucket"].Properties["BucketName"]); string(bn) != `{"Fn::Sub":"demo-dev-${AWS::AccountId}-${AWS::Region}"}` {
		t.Errorf("bucket name %s", bn)
	}
}

func TestTemplateLambdaFleetSecrets(t *testing.T) {
	tp := parseTemplate(t, `
project: demo
codebuild:
  lambda:
    enable: true
  fleet:
    enable: true
    base_capacity: 2
  project:
    environment:
      Image: my/image:1
    env:
      vars:
        TOKEN: "SECRET:ci/token"
`)
	got := types(tp)
	if got["CodebuildLambda"] != "AWS::CodeBuild::Project" || got["CodebuildFleet"] != "AWS::CodeBuild::Fleet" {
		t.Fatalf("resources %v", got)
	}
	fleet := tp.Resources["CodebuildFleet"].Properties
	if fleet["BaseCapacity"] != float64(2) || fleet["ComputeType"] != "BUILD_GENERAL1_SMALL" || fleet["EnvironmentType"] != "LINUX_CONTAINER" || fleet["OverflowBehavior"] != "QUEUE" {
		t.Errorf("fleet %v", fleet)
	}
	env := tp.Resources["Codebuild"].Properties["Environment"].(map[string]any)
	if fa, _ := json.Marshal(env["Fleet"]); string(fa) != `{"FleetArn":{"Fn::GetAtt":["CodebuildFleet","Arn"]}}` {
		t.Errorf("project fleet %s", fa)
	}
	vars, _ := json.Marshal(env["EnvironmentVariables"])
	if string(vars) != `[{"Name":"TOKEN","Type":"SECRETS_MANAGER","Value":"ci/token"}]` {
		t.Errorf("variables %s", vars)
	}
	lambda := tp.Resources["CodebuildLambda"].Properties
	lenv := lambda["Environment"].(map[string]any)
	if _, ok := lenv["Fleet"]; ok {
		t.Error("the Lambda project has the fleet")
	}
	if _, ok := lambda["TimeoutInMinutes"]; ok {
		t.Error("the Lambda project has a timeout")
	}
	if lenv["Image"] == "my/image:1" || lenv["PrivilegedMode"] != false || lambda["Cache"].(map[string]any)["Type"] != "NO_CACHE" {
		t.Errorf("lambda project %v", lambda)
	}
	var names []string
	for _, p := range tp.Resources["CodebuildRole"].Properties["Policies"].([]any) {
		names = append(names, p.(map[string]any)["PolicyName"].(string))
	}
	if !slices.Contains(names, SecretsPolicyName) {
		t.Errorf("policies %v lack %s", names, SecretsPolicyName)
	}
	for _, out := range []string{"Bucket", "Codebuild", "CodebuildLambda", "CodebuildFleet", "CodebuildRole"} {
		if _, ok := tp.Outputs[out]; !ok {
			t.Errorf("no output %s", out)
		}
	}
}
