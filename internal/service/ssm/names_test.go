package ssm

import (
	"strings"
	"testing"
)

const testARNPrefix = "arn:aws:ssm:us-east-1:000000000000:parameter"

func TestParseRef(t *testing.T) {
	cases := []struct {
		in   string
		ok   bool
		want ref
	}{
		{"/a/b", true, ref{Name: "/a/b"}},
		{"a", true, ref{Name: "a"}},
		{"/a/b:3", true, ref{Name: "/a/b", Selector: "3", Version: 3}},
		{"/a/b:0", true, ref{Name: "/a/b", Selector: "0", Version: -1}},
		{"/a/b:99999999999999999999", true, ref{Name: "/a/b", Selector: "99999999999999999999", Version: -1}},
		{"/a/b:prod", true, ref{Name: "/a/b", Selector: "prod"}},
		{testARNPrefix + "/a/b:2", true, ref{Name: "/a/b", Selector: "2", Version: 2}},
		{testARNPrefix + "/top", true, ref{Name: "top"}},
		{"arn:aws:ssm:eu-west-1:000000000000:parameter/x", true, ref{Name: "x", Foreign: true}},
		{"/a/b:", false, ref{}},
		{"/a/b:1:2", false, ref{}},
		{"/a/b:awslabel", false, ref{}},
		{"/a/b:1abc", false, ref{}},
		{"a/b", false, ref{}},
		{"/a//b", false, ref{}},
		{"", false, ref{}},
		{"arn:aws:s3:::bucket", false, ref{}},
		{"arn:12", true, ref{Name: "arn", Selector: "12", Version: 12}},
		{"arn:aws:ssm:us-east-1:000000000000:parameter/", false, ref{}},
	}
	for _, c := range cases {
		got, ok := parseRef(c.in, testARNPrefix)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("parseRef(%q) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestKeyAndPaths(t *testing.T) {
	for in, want := range map[string]string{"/a": "a", "a": "a", "/a/b": "/a/b", "/": "/"} {
		if got := key(in); got != want {
			t.Errorf("key(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range []struct {
		key, path string
		rec, want bool
	}{
		{"a", "/", false, true},
		{"/a/b", "/", false, false},
		{"/a/b", "/", true, true},
		{"/a/b", "/a", false, true},
		{"/a/b/c", "/a", false, false},
		{"/a/b/c", "/a", true, true},
		{"/ab/c", "/a", true, false},
	} {
		if got := underPath(c.key, c.path, c.rec); got != c.want {
			t.Errorf("underPath(%q, %q, %v) = %v", c.key, c.path, c.rec, got)
		}
	}
}

// FuzzParameterName checks name validation and reference parsing: no
// panics, and what validation accepts is well formed and can be read back
// by name, by ARN and by version.
func FuzzParameterName(f *testing.F) {
	for _, s := range []string{"/a/b", "a", "/a", "ssm", "/aws/x", "a/b", "/a//b", "/a/b/", "/a b", strings.Repeat("/l", 16),
		"/a:1", "/a:label", testARNPrefix + "/a/b:7", "arn:aws:ssm:x:y:parameter/a", "/é", "/a\x00", " /a "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if r, ok := parseRef(s, testARNPrefix); ok {
			if !wellFormed(r.Name) || strings.Count(r.Name, "/") > maxLevels {
				t.Fatalf("parseRef(%q) accepted name %q", s, r.Name)
			}
		}
		if p, e := parsePath(s); e == nil && !strings.HasPrefix(p, "/") {
			t.Fatalf("parsePath(%q) = %q", s, p)
		}
		if checkNewName(s, len(testARNPrefix)+1) != nil {
			return
		}
		for i := 0; i < len(s); i++ {
			if !nameChar(s[i]) {
				t.Fatalf("accepted %q with byte %q", s, s[i])
			}
		}
		lower := strings.ToLower(strings.TrimPrefix(s, "/"))
		if strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm") || strings.Count(s, "/") > maxLevels ||
			strings.Contains(s, "/") && !strings.HasPrefix(s, "/") || strings.Contains(s, "//") || strings.HasSuffix(s, "/") {
			t.Fatalf("accepted %q", s)
		}
		k := key(s)
		if key(k) != k || key("/"+strings.TrimPrefix(s, "/")) != k {
			t.Fatalf("key(%q) = %q is not stable", s, k)
		}
		for _, in := range []string{s, testARNPrefix + "/" + strings.TrimPrefix(s, "/"), s + ":12"} {
			r, ok := parseRef(in, testARNPrefix)
			if !ok || key(r.Name) != k || r.Foreign {
				t.Fatalf("parseRef(%q) = %+v, %v; want key %q", in, r, ok, k)
			}
		}
		if r, _ := parseRef(s+":12", testARNPrefix); r.Version != 12 {
			t.Fatalf("version of %q:12 = %d", s, r.Version)
		}
	})
}
