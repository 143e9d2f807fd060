package secretsmanager

import (
	"strings"
	"testing"
)

func TestParseSecretRef(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db/pass-AbCdEf"
	cases := []struct {
		in   string
		want SecretRef
		ok   bool
	}{
		{"db", SecretRef{SecretID: "db"}, true},
		{"db:user", SecretRef{SecretID: "db", JSONKey: "user"}, true},
		{"db:user:AWSPREVIOUS", SecretRef{SecretID: "db", JSONKey: "user", VersionStage: "AWSPREVIOUS"}, true},
		{"db::AWSPENDING:v-1", SecretRef{SecretID: "db", VersionStage: "AWSPENDING", VersionID: "v-1"}, true},
		{"db:::v-1", SecretRef{SecretID: "db", VersionID: "v-1"}, true},
		{arn, SecretRef{SecretID: arn}, true},
		{arn + ":user", SecretRef{SecretID: arn, JSONKey: "user"}, true},
		{arn + ":user:AWSCURRENT:v", SecretRef{SecretID: arn, JSONKey: "user", VersionStage: "AWSCURRENT", VersionID: "v"}, true},
		{arn + "::", SecretRef{SecretID: arn}, true},
		{"db:a:b:c:d", SecretRef{}, false},
		{arn + ":a:b:c:d", SecretRef{}, false},
		{":user", SecretRef{}, false},
		{"", SecretRef{}, false},
		{"arn:aws:secretsmanager:us-east-1:000000000000:secret:", SecretRef{}, false},
		{"arn:aws:secretsmanager:us-east-1:000000000000:parameter:x", SecretRef{}, false},
		{"arn:aws:ssm:us-east-1:000000000000:parameter/x", SecretRef{}, false},
		{"arn:password", SecretRef{SecretID: "arn", JSONKey: "password"}, true},
	}
	for _, c := range cases {
		got, err := ParseSecretRef(c.in)
		if (err == nil) != c.ok || c.ok && got != c.want {
			t.Errorf("ParseSecretRef(%q) = %+v, %v; want %+v (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}

// FuzzParseSecretRef checks that parsing never panics and that a parsed
// reference written out in full parses back to itself.
func FuzzParseSecretRef(f *testing.F) {
	for _, s := range []string{"db", "db:k", "db:k:AWSCURRENT:v", "arn:aws:secretsmanager:r:a:secret:n-123456:k",
		"arn:aws:secretsmanager:r:a:secret:n", "arn:x", "::::", "a:b:c:d:e", "arn:aws:secretsmanager:r:a:secret:n:k:s:v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseSecretRef(s)
		if err != nil {
			return
		}
		if r.SecretID == "" {
			t.Fatalf("ParseSecretRef(%q): empty id", s)
		}
		if !strings.HasPrefix(r.SecretID, "arn:") && strings.Contains(r.SecretID, ":") {
			t.Fatalf("ParseSecretRef(%q): id %q holds a colon", s, r.SecretID)
		}
		for _, v := range []string{r.JSONKey, r.VersionStage, r.VersionID} {
			if strings.Contains(v, ":") {
				t.Fatalf("ParseSecretRef(%q): field %q holds a colon", s, v)
			}
		}
		full := r.SecretID + ":" + r.JSONKey + ":" + r.VersionStage + ":" + r.VersionID
		if r2, err := ParseSecretRef(full); err != nil || r2 != r {
			t.Fatalf("ParseSecretRef(%q) = %+v, but %q parses to %+v, %v", s, r, full, r2, err)
		}
	})
}
