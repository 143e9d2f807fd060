package model

import "testing"

func TestIAMArns(t *testing.T) {
	n := Names{Region: "us-east-1", Account: "000000000000"}
	if got := n.RoleArn("/ci/", "r"); got != "arn:aws:iam::000000000000:role/ci/r" {
		t.Fatalf("RoleArn = %s", got)
	}
	if got := n.AssumedRoleArn("r", "s"); got != "arn:aws:sts::000000000000:assumed-role/r/s" {
		t.Fatalf("AssumedRoleArn = %s", got)
	}
	cases := []struct {
		arn  string
		ok   bool
		want IAMArn
	}{
		{"arn:aws:iam::000000000000:role/ci/builds/r", true, IAMArn{"aws", "iam", "000000000000", "role", "/ci/builds/", "r", ""}},
		{"arn:aws:iam::000000000000:user/alice", true, IAMArn{"aws", "iam", "000000000000", "user", "/", "alice", ""}},
		{"arn:aws:iam::aws:policy/service-role/X", true, IAMArn{"aws", "iam", "aws", "policy", "/service-role/", "X", ""}},
		{"arn:aws:iam::000000000000:root", true, IAMArn{"aws", "iam", "000000000000", "root", "/", "", ""}},
		{"arn:aws:sts::000000000000:assumed-role/r/s", true, IAMArn{"aws", "sts", "000000000000", "assumed-role", "/", "r", "s"}},
		{"arn:aws:iam:us-east-1:000000000000:role/r", false, IAMArn{}},
		{"arn:aws:iam::000000000000:role/", false, IAMArn{}},
		{"arn:aws:iam::000000000000:role/a//r", false, IAMArn{}},
		{"arn:aws:iam::000000000000:group/g", false, IAMArn{}},
		{"arn:aws:sts::000000000000:assumed-role/r", false, IAMArn{}},
		{"arn:aws:iam:aws:policy/X", false, IAMArn{}},
		{"role/r", false, IAMArn{}},
	}
	for _, c := range cases {
		got, ok := ParseIAMArn(c.arn)
		if ok != c.ok || got != c.want {
			t.Errorf("ParseIAMArn(%q) = %+v, %v", c.arn, got, ok)
		}
	}
}
