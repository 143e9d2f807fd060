package pack

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Cases from git's t3070-wildmatch (the "pathmatch" column: WM_PATHNAME).
func TestWildmatch(t *testing.T) {
	cases := []struct {
		p, text string
		want    bool
	}{
		{"foo", "foo", true},
		{"foo", "bar", false},
		{"???", "foo", true},
		{"??", "foo", false},
		{"*", "foo", true},
		{"f*", "foo", true},
		{"*f", "foo", false},
		{"*foo*", "foo", true},
		{"*ob*a*r*", "foobar", true},
		{"*ab", "aaaaaaabababab", true},
		{`foo\*`, "foo*", true},
		{`foo\*bar`, "foobar", false},
		{`f\\oo`, `f\oo`, true},
		{"*[al]?", "ball", true},
		{"[ten]", "ten", false},
		{"**[!te]", "ten", true},
		{"**[!ten]", "ten", false},
		{"t[a-g]n", "ten", true},
		{"t[!a-g]n", "ten", false},
		{"t[!a-g]n", "ton", true},
		{"t[^a-g]n", "ton", true},
		{"a[]]b", "a]b", true},
		{"a[]-]b", "a-b", true},
		{"a[]-]b", "a]b", true},
		{"a[]-]b", "aab", false},
		{"a[]a-]b", "aab", true},
		{"]", "]", true},
		{"foo*bar", "foo/baz/bar", false},
		{"foo**bar", "foo/baz/bar", false},
		{"foo**bar", "foobazbar", true},
		{"foo/**/bar", "foo/baz/bar", true},
		{"foo/**/**/bar", "foo/baz/bar", true},
		{"foo/**/bar", "foo/b/a/z/bar", true},
		{"foo/**/bar", "foo/bar", true},
		{"foo?bar", "foo/bar", false},
		{"foo[/]bar", "foo/bar", false},
		{"foo[^a-z]bar", "foo/bar", false},
		{"f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "foo-bar", true},
		{"**/foo", "foo", true},
		{"**/foo", "XXX/foo", true},
		{"**/foo", "bar/baz/foo", true},
		{"*/foo", "bar/baz/foo", false},
		{"**/bar*", "foo/bar/baz", false},
		{"**/bar/*", "deep/foo/bar/baz", true},
		{"**/bar/*", "deep/foo/bar/baz/", false},
		{"**/bar/**", "deep/foo/bar/baz/", true},
		{"**/bar/*", "deep/foo/bar", false},
		{"**/bar/**", "deep/foo/bar/", true},
		{"**/bar**", "foo/bar/baz", false},
		{"*/bar/**", "foo/bar/baz/x", true},
		{"*/bar/**", "deep/foo/bar/baz/x", false},
		{"**/bar/*/*", "deep/foo/bar/baz/x", true},
		{"a[c-c]st", "acrt", false},
		{"a[c-c]rt", "acrt", true},
		{"[!]-]", "]", false},
		{"[!]-]", "a", true},
		{`\`, `\`, false},
		{`*/\`, `XXX/\`, false},
		{`*/\\`, `XXX/\`, true},
		{"@foo", "@foo", true},
		{"@foo", "foo", false},
		{`\[ab]`, "[ab]", true},
		{"[[]ab]", "[ab]", true},
		{"[[:]ab]", "[ab]", true},
		{"[[::]ab]", "[ab]", false},
		{"[[:digit]ab]", "[ab]", true},
		{`[\[:]ab]`, "[ab]", true},
		{`\??\?b`, "?a?b", true},
		{`\a\b\c`, "abc", true},
		{"**/t[o]", "foo/bar/baz/to", true},
		{"[[:alpha:]][[:digit:]][[:upper:]]", "a1B", true},
		{"[[:digit:][:upper:][:space:]]", "a", false},
		{"[[:digit:][:upper:][:space:]]", "A", true},
		{"[[:digit:][:upper:][:space:]]", "1", true},
		{"[[:digit:][:upper:][:spaci:]]", "1", false},
		{"[[:digit:][:punct:][:space:]]", ".", true},
		{"[a-c]b*", "cbc", true},
		{"-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1", true},
		{"-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-X-70-iso8859-1", false},
		{"XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*", "XXX/adobe/courier/bold/o/normal//12/120/75/75/m/70/iso8859/1", true},
		{"**/*a*b*g*n*t", "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txt", true},
		{"**/*a*b*g*n*t", "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txtz", false},
		{"*/*/*", "foo/bb/aa/rr", false},
		{"**/**/**", "foo/bb/aa/rr", true},
		{"*X*i", "abcXdefXghi", true},
		{"*/*X*/*/*i", "ab/cXd/efXg/hi", true},
		{"**/*X*/**/*i", "ab/cXd/efXg/hi", true},
		{"*.log", "a.log", true},
		{"*.log", "dir/a.log", false},
		{"docs/**", "docs", false},
		{"docs/**", "docs/a/b", true},
	}
	for _, c := range cases {
		if got := wildmatch(c.p, c.text); got != c.want {
			t.Errorf("wildmatch(%q, %q) = %v, want %v", c.p, c.text, got, c.want)
		}
	}
}

// A pathological pattern must not take exponential time.
func TestWildmatchNoBlowup(t *testing.T) {
	p := strings.Repeat("*a", 30) + "b"
	text := strings.Repeat("a", 200)
	if wildmatch(p, text) {
		t.Fatal("matched")
	}
	p = strings.Repeat("**/", 20) + "x"
	if wildmatch(p, strings.Repeat("a/", 100)+"y") {
		t.Fatal("matched")
	}
}

func TestParseIgnore(t *testing.T) {
	f := parseIgnore([]byte("\xef\xbb\xbf# comment\r\n\r\n*.log\r\n!keep.log  \nbuild/\n/anchored\n\\#hash\n\\!bang\nsp\\ \ntrail   \n!\n/\na/b/\n"), "sub/")
	type pat struct {
		glob                               string
		negate, dirOnly, basename, literal bool
	}
	var got []pat
	for _, p := range f.patterns {
		got = append(got, pat{p.glob, p.negate, p.dirOnly, p.basename, p.literal})
	}
	want := []pat{
		{"*.log", false, false, true, false},
		{"keep.log", true, false, true, true},
		{"build", false, true, true, true},
		{"anchored", false, false, false, true},
		{`\#hash`, false, false, true, false},
		{`\!bang`, false, false, true, false},
		{`sp\ `, false, false, true, false},
		{"trail", false, false, true, true},
		{"a/b", false, true, false, true},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if f.base != "sub/" {
		t.Fatal(f.base)
	}
}

// TestIgnoreMatchesGit uses git as the oracle: for trees with .gitignore
// files, Scan must pack exactly the files "git ls-files --others
// --exclude-standard" lists as untracked and not ignored.
func TestIgnoreMatchesGit(t *testing.T) {
	needGit(t)
	t.Run("fixed", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			".gitignore": "*.log\n!important.log\nbuild/\n**/cache\n/anchored.txt\n\\#literal\nsp\\ \n" +
				"docs/**\n!docs/keep.md\na/**/z\n*.o\n!/lib/*.o\nfoo/*\n!foo/bar\n[Tt]emp*\nx?y\n",
			"a.log": "", "important.log": "", "sub/important.log": "", "sub/b.log": "",
			"build/out": "", "sub/build": "", "deep/x/build/o": "",
			"cache": "", "p/q/cache/c": "",
			"anchored.txt": "", "sub/anchored.txt": "",
			"#literal": "", "sp ": "", "sp": "",
			"docs/a.md": "", "docs/keep.md": "", "docs/d/keep.md": "",
			"a/z": "", "a/b/c/z": "", "a/b/z/q": "", "b/a/z": "",
			"m.o": "", "lib/m.o": "", "lib/sub/m.o": "",
			"foo/bar": "", "foo/baz": "", "foo/bar2/x": "",
			"Temp1": "", "temp2/x": "", "xzy": "", "x/y": "",
			"sub/.gitignore": "!*.log\nlocal.txt\n/only-here\n",
			"sub/local.txt":  "", "sub/deeper/local.txt": "", "sub/only-here": "", "sub/deeper/only-here": "",
			"sub/deeper/.gitignore": "*.md\n!x.md\n",
			"sub/deeper/a.md":       "", "sub/deeper/x.md": "", "sub/c.md": "",
			"n/.gitignore": "*\n!*/\n!*.txt\n",
			"n/a.bin":      "", "n/a.txt": "", "n/d/b.txt": "", "n/d/b.bin": "",
			"crlf/.gitignore": "*.tmp\r\n!keep.tmp\r\n",
			"crlf/a.tmp":      "", "crlf/keep.tmp": "",
		})
		compareWithGit(t, dir)
	})
	t.Run("random", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 40; i++ {
			dir := t.TempDir()
			randomTree(rng, t, dir)
			if !compareWithGit(t, dir) {
				for _, f := range findIgnoreFiles(t, dir) {
					data, _ := os.ReadFile(filepath.Join(dir, f))
					t.Logf("%s:\n%s", f, data)
				}
				t.FailNow()
			}
		}
	})
}

func compareWithGit(t *testing.T, dir string) bool {
	t.Helper()
	git(t, dir, "init", "-q")
	out := git(t, dir, "ls-files", "--others", "--exclude-standard", "-z")
	var want []string
	for f := range strings.SplitSeq(strings.TrimSuffix(out, "\x00"), "\x00") {
		if f != "" {
			want = append(want, f)
		}
	}
	sort.Strings(want)
	m, err := Scan(ctxT(t), dir, Options{AlwaysRemove: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range m.Entries {
		if e.Type != TypeDir {
			got = append(got, e.Path)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("scan and git disagree\n got: %q\nwant: %q", got, want)
		return false
	}
	return true
}

func findIgnoreFiles(t *testing.T, dir string) []string {
	var out []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Name() == ".gitignore" {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// randomTree builds a small tree from a fixed vocabulary of names and
// .gitignore files with random patterns, so the names and patterns meet.
func randomTree(rng *rand.Rand, t *testing.T, dir string) {
	dirs := []string{"a", "b", "build", "docs", "sub", "x"}
	files := []string{"a", "b.log", "keep.log", "README.md", "f.txt", "xyz", "z", "build", "#h", "c.o"}
	pats := []string{
		"*.log", "!keep.log", "build/", "/a", "a/**/z", "**/b", "docs/**", "!docs/f.txt", "*", "!*/",
		"!*.txt", "[ab]*", "sub/", "!sub/", "x?z", "**/b/*.log", "b/", "!b/z", "/sub/a", "x/",
		"*.md", "!README.md", `\#h`, "z", "!z", "*/z", "**/x/**", "/*.o", "!build", "a/", "**/f.txt",
		"sub/**/z", "!a/b", "b", "x/*", "!x/f.txt",
	}
	fs := map[string]string{}
	var walk func(prefix string, depth int)
	walk = func(prefix string, depth int) {
		for _, f := range files {
			if rng.IntN(3) == 0 {
				fs[prefix+f] = ""
			}
		}
		if rng.IntN(2) == 0 {
			var lines []string
			for n := rng.IntN(5) + 1; n > 0; n-- {
				lines = append(lines, pats[rng.IntN(len(pats))])
			}
			fs[prefix+".gitignore"] = strings.Join(lines, "\n") + "\n"
		}
		if depth == 0 {
			return
		}
		for _, d := range dirs {
			if rng.IntN(3) == 0 {
				if _, isFile := fs[prefix+d]; isFile {
					continue
				}
				walk(prefix+d+"/", depth-1)
			}
		}
	}
	walk("", 3)
	if len(fs) == 0 {
		fs["f.txt"] = ""
	}
	// A file and a directory of the same name cannot both exist.
	for p := range fs {
		for q := range fs {
			if strings.HasPrefix(q, p+"/") {
				delete(fs, p)
			}
		}
	}
	writeFiles(t, dir, fs)

}
