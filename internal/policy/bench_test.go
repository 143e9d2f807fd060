package policy

import "testing"

// benchPolicy is a build role's policy as bootstrap writes one, plus the
// conditions and variables that cost most to parse and evaluate.
const benchPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Logs", "Effect": "Allow",
     "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
     "Resource": ["arn:aws:logs:us-east-1:000000000000:log-group:/aws/codebuild/*"]},
    {"Sid": "Artifacts", "Effect": "Allow",
     "Action": ["s3:GetObject", "s3:PutObject", "s3:GetObjectVersion", "s3:GetBucketAcl", "s3:GetBucketLocation"],
     "Resource": ["arn:aws:s3:::hangar-artifacts", "arn:aws:s3:::hangar-artifacts/*"]},
    {"Sid": "Params", "Effect": "Allow", "Action": "ssm:GetParameters",
     "Resource": "arn:aws:ssm:us-east-1:000000000000:parameter/app/${aws:username}/*",
     "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}, "Bool": {"aws:SecureTransport": "false"}}},
    {"Sid": "Secrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
     "Resource": "arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/*",
     "Condition": {"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8"]}}},
    {"Sid": "NoDelete", "Effect": "Deny", "NotAction": ["s3:Get*", "s3:Put*", "s3:List*"],
     "Resource": "arn:aws:s3:::hangar-artifacts/*"}
  ]
}`

// BenchmarkParse measures parsing and validating a five-statement policy.
func BenchmarkParse(b *testing.B) {
	doc := []byte(benchPolicy)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate measures deciding one request against that policy: a
// parameter read that walks every statement, variables and conditions
// included, and ends allowed.
func BenchmarkEvaluate(b *testing.B) {
	p, err := Parse([]byte(benchPolicy))
	if err != nil {
		b.Fatal(err)
	}
	req := Request{
		Action:   "ssm:GetParameters",
		Resource: "arn:aws:ssm:us-east-1:000000000000:parameter/app/builder/db-password",
		Context: map[string][]string{
			"aws:username": {"builder"}, "aws:requestedregion": {"us-east-1"},
			"aws:securetransport": {"false"}, "aws:sourceip": {"127.0.0.1"},
		},
	}
	policies := []*Policy{p}
	for b.Loop() {
		if d := Evaluate(policies, req); d != Allowed {
			b.Fatal(d)
		}
	}
}
