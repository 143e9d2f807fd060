package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestExpandPolicy(t *testing.T) {
	tests := []struct {
		name    string
		entries []PolicyEntry
		want    []InlinePolicy
		err     string
	}{
		{name: "empty list: no policy", entries: nil, want: nil},
		{
			name:    "strings: one statement",
			entries: actions("s3", "ec2", "sts:GetCallerIdentity", "*"),
			want: []InlinePolicy{{Name: "P", Document: `{"Version":"2012-10-17","Statement":[` +
				`{"Action":["s3:*","ec2:*","sts:GetCallerIdentity","*"],"Effect":"Allow","Resource":"*"}]}`}},
		},
		{
			name: "mixed: strings become statements, Statement is flattened, Action is a statement",
			entries: []PolicyEntry{
				{Action: "s3"},
				{Map: map[string]any{"Statement": []any{
					map[string]any{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"},
					map[string]any{"Action": []any{"sqs:SendMessage"}, "Resource": "arn:aws:sqs:*:*:q"},
				}}},
				{Map: map[string]any{"Sid": "One", "Action": "lambda:*", "Resource": "*"}},
				{Action: "logs:PutLogEvents"},
			},
			want: []InlinePolicy{{Name: "P", Document: `{"Version":"2012-10-17","Statement":[` +
				`{"Action":["s3:*"],"Effect":"Allow","Resource":"*"},` +
				`{"Action":"s3:DeleteBucket","Effect":"Deny","Resource":"*"},` +
				`{"Action":["sqs:SendMessage"],"Effect":"Allow","Resource":"arn:aws:sqs:*:*:q"},` +
				`{"Action":"lambda:*","Effect":"Allow","Resource":"*","Sid":"One"},` +
				`{"Action":["logs:PutLogEvents"],"Effect":"Allow","Resource":"*"}]}`}},
		},
		{
			name: "a Statement map, not a list",
			entries: []PolicyEntry{{Map: map[string]any{"Version": "2012-10-17", "Statement": map[string]any{
				"Action": "ssm:GetParameter", "Resource": "*"}}}},
			want: []InlinePolicy{{Name: "P", Document: `{"Version":"2012-10-17","Statement":[` +
				`{"Action":"ssm:GetParameter","Effect":"Allow","Resource":"*"}]}`}},
		},
		{
			name: "the full policy form Jets documents (and crashes on)",
			entries: []PolicyEntry{
				{Action: "s3"},
				{Map: map[string]any{"PolicyName": "Deploy", "PolicyDocument": map[string]any{
					"Statement": []any{map[string]any{"Action": "cloudformation:*", "Resource": "*"}}}}},
			},
			want: []InlinePolicy{
				{Name: "P", Document: `{"Version":"2012-10-17","Statement":[{"Action":["s3:*"],"Effect":"Allow","Resource":"*"}]}`},
				{Name: "Deploy", Document: `{"Version":"2012-10-17","Statement":[{"Action":"cloudformation:*","Effect":"Allow","Resource":"*"}]}`},
			},
		},
		{
			name:    "only a named policy: no empty P",
			entries: []PolicyEntry{{Map: map[string]any{"PolicyName": "Only", "PolicyDocument": map[string]any{"Id": "x", "Statement": map[string]any{"Action": "s3:*", "Resource": "*"}}}}},
			want:    []InlinePolicy{{Name: "Only", Document: `{"Version":"2012-10-17","Id":"x","Statement":[{"Action":"s3:*","Effect":"Allow","Resource":"*"}]}`}},
		},
		{name: "a map of nothing", entries: []PolicyEntry{{Map: map[string]any{"Foo": 1}}}, err: "policy P entry 0: a map needs Action, Statement, or PolicyName and PolicyDocument"},
		{name: "named without a document", entries: []PolicyEntry{{Map: map[string]any{"PolicyName": "X"}}}, err: "needs PolicyName and a PolicyDocument map"},
		{name: "bad Statement", entries: []PolicyEntry{{Map: map[string]any{"Statement": "s3"}}}, err: "Statement must be a map or a list of maps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExpandPolicy("P", tt.entries)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %v\nwant %v", got, tt.want)
			}
			for _, p := range got {
				if !json.Valid([]byte(p.Document)) {
					t.Fatalf("%s is not JSON", p.Document)
				}
			}
		})
	}
}

func TestInlinePoliciesDefault(t *testing.T) {
	c := mustLoad(t, Options{Dir: tree(t, "p", nil)})
	got, err := c.InlinePolicies()
	if err != nil {
		t.Fatal(err)
	}
	want := []InlinePolicy{
		{Name: "DefaultPolicy", Document: `{"Version":"2012-10-17","Statement":[{"Action":["apigateway:*","cloudformation:*","cloudfront:*","codebuild:*","dynamodb:*","ecr:*","ecr-public:*","events:*","iam:*","lambda:*","logs:*","route53:*","s3:*","sns:*","sqs:*","sts:GetServiceBearerToken","waf:*","wafv2:*"],"Effect":"Allow","Resource":"*"}]}`},
		{Name: "VpcPolicy", Document: `{"Version":"2012-10-17","Statement":[{"Action":["ec2:*"],"Effect":"Allow","Resource":"*"}]}`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("InlinePolicies:\n%v", got)
	}
	if got := c.ManagedPolicyARNs(); !reflect.DeepEqual(got, []string{
		"arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess", "arn:aws:iam::aws:policy/AWSCertificateManagerReadOnly"}) {
		t.Fatalf("ManagedPolicyARNs = %v", got)
	}
}

func TestIAMFromFile(t *testing.T) {
	file := `target: aws
region: cn-north-1
codebuild:
  iam:
    default_vpc_policy: []
    policy:
      - s3
      - PolicyName: Stacks
        PolicyDocument:
          Version: "2012-10-17"
          Statement:
            - Action: cloudformation:*
              Resource: arn:aws-cn:cloudformation:*:*:stack/${namespace}-*
    default_managed_policy: [AmazonSSMReadOnlyAccess]
    managed_policy: [service-role/AWSCodeBuildAdminAccess, "arn:aws-cn:iam::1:policy/Mine", AmazonSSMReadOnlyAccess]
`
	c := mustLoad(t, Options{Dir: tree(t, "shop", map[string]string{"hangar.yml": file})})
	ps, err := c.InlinePolicies()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	if !reflect.DeepEqual(names, []string{"DefaultPolicy", "CustomPolicy", "Stacks"}) {
		t.Fatalf("policies = %v (an empty default_vpc_policy adds no VpcPolicy)", names)
	}
	if !strings.Contains(ps[2].Document, `"Resource":"arn:aws-cn:cloudformation:*:*:stack/shop-dev-*"`) {
		t.Fatalf("Stacks = %s", ps[2].Document)
	}
	if got := c.ManagedPolicyARNs(); !reflect.DeepEqual(got, []string{
		"arn:aws-cn:iam::aws:policy/AmazonSSMReadOnlyAccess",
		"arn:aws-cn:iam::aws:policy/service-role/AWSCodeBuildAdminAccess",
		"arn:aws-cn:iam::1:policy/Mine",
	}) {
		t.Fatalf("ManagedPolicyARNs = %v", got)
	}
	// A single map (not a list) is one entry.
	c = mustLoad(t, Options{Dir: tree(t, "p", map[string]string{"hangar.yml": "codebuild:\n  iam:\n    policy:\n      Action: s3:GetObject\n      Resource: '*'\n"})})
	if len(c.CodeBuild.IAM.Policy) != 1 || c.CodeBuild.IAM.Policy[0].Map["Action"] != "s3:GetObject" {
		t.Fatalf("policy = %+v", c.CodeBuild.IAM.Policy)
	}
}

func TestIAMErrors(t *testing.T) {
	file := `codebuild:
  iam:
    policy:
      - "s3 ec2"
      - Action: s3
        Resource: "*"
      - Action: s3:*
      - Actions: s3:*
        Resource: "*"
      - Action: s3:*
        Resource: "*"
        Principal: "*"
        Effect: Maybe
      - PolicyName: DefaultPolicy
        PolicyDocument:
          Statement: []
      - Foo: bar
      - [nested]
    managed_policy: ["has space", "arn:aws:s3:::bucket"]
    default_policy: s3
`
	got := loadErr(t, Options{Dir: tree(t, "p", map[string]string{"hangar.yml": file})})
	want := []string{
		`hangar.yml:4: codebuild.iam.policy[0]: "s3 ec2" is not a service (s3) or an action (sts:GetCallerIdentity)`,
		`hangar.yml:5: codebuild.iam.policy[1].Action: "s3" is not an action; write s3:* (only plain list entries get :* added)`,
		`hangar.yml:7: codebuild.iam.policy[2]: a statement needs Resource or NotResource (one of them)`,
		`hangar.yml:8: codebuild.iam.policy[3]: a statement needs Action or NotAction (one of them)`,
		`hangar.yml:8: codebuild.iam.policy[3].Actions: unknown key (did you mean Action?)`,
		`hangar.yml:12: codebuild.iam.policy[4].Principal: a role's own policy cannot name a principal`,
		`hangar.yml:13: codebuild.iam.policy[4].Effect: must be Allow or Deny`,
		`hangar.yml:14: codebuild.iam.policy[5].PolicyName: DefaultPolicy is the name of a policy Hangar makes; choose another`,
		`hangar.yml:16: codebuild.iam.policy[5].PolicyDocument.Statement: must be a statement or a non-empty list of statements`,
		`hangar.yml:17: codebuild.iam.policy[6]: a policy map needs Action (a statement), Statement (a policy document), or PolicyName and PolicyDocument`,
		`hangar.yml:18: codebuild.iam.policy[7]: must be a service, an action or a policy map, not a list`,
		`hangar.yml:19: codebuild.iam.managed_policy[0]: "has space" is not a managed policy name or ARN`,
		`hangar.yml:19: codebuild.iam.managed_policy[1]: "arn:aws:s3:::bucket" is not a policy ARN`,
		`hangar.yml:20: codebuild.iam.default_policy: must be a list of services, actions or policy maps, not a string`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPartition(t *testing.T) {
	for region, want := range map[string]string{"us-east-1": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov", "us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b"} {
		if got := Partition(region); got != want {
			t.Errorf("Partition(%s) = %s", region, got)
		}
	}
	if got := ManagedPolicyARN("aws", "arn:aws:iam::1:policy/x"); got != "arn:aws:iam::1:policy/x" {
		t.Errorf("ARN changed: %s", got)
	}
}
