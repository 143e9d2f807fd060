package pack

import (
	"errors"
	"strings"
	"testing"
)

var (
	hashA = sha256Hex("a")
	hashB = sha256Hex("b")
)

func TestManifestEncodeStable(t *testing.T) {
	m := &Manifest{Version: ManifestVersion, Entries: []Entry{
		{Path: "bin", Type: TypeDir, Mode: 0o755},
		{Path: "bin/run", Type: TypeFile, Mode: 0o755, Size: 1, SHA256: hashA},
		{Path: "empty", Type: TypeFile, Mode: 0o644, SHA256: sha256Hex("")},
		{Path: "l", Type: TypeSymlink, Target: "bin/run"},
	}}
	data, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":1,"entries":[` +
		`{"path":"bin","type":"dir","mode":493},` +
		`{"path":"bin/run","type":"file","mode":493,"size":1,"sha256":"` + hashA + `"},` +
		`{"path":"empty","type":"file","mode":420,"sha256":"` + sha256Hex("") + `"},` +
		`{"path":"l","type":"symlink","target":"bin/run"}]}`
	if string(data) != want {
		t.Fatalf("got  %s\nwant %s", data, want)
	}
	h, _ := m.Hash()
	if h != sha256Hex(want) {
		t.Fatal("hash is not the hash of the document")
	}
	back, err := ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.Encode()
	if string(again) != want {
		t.Fatal("round trip changed the document")
	}
	m.Entries[0], m.Entries[1] = m.Entries[1], m.Entries[0]
	if _, err := m.Encode(); err == nil {
		t.Fatal("unsorted manifest encoded")
	}
	empty, _ := (&Manifest{}).Encode()
	if string(empty) != `{"version":1,"entries":[]}` {
		t.Fatalf("empty: %s", empty)
	}
}

func TestBlobsAndMissing(t *testing.T) {
	m := &Manifest{Version: ManifestVersion, Entries: []Entry{
		{Path: "a", Type: TypeFile, Size: 1, SHA256: hashB},
		{Path: "b", Type: TypeFile, Size: 1, SHA256: hashA},
		{Path: "c", Type: TypeFile, Size: 1, SHA256: hashB}, // same content as a
		{Path: "d", Type: TypeDir},
	}}
	blobs := m.Blobs()
	if len(blobs) != 2 || blobs[0].SHA256 > blobs[1].SHA256 {
		t.Fatalf("blobs %+v", blobs)
	}
	for _, b := range blobs {
		if b.SHA256 == hashB && b.Path != "a" {
			t.Fatalf("blob path %q, want the first entry", b.Path)
		}
	}
	missing := m.Missing(func(h string) bool { return h == hashA })
	if len(missing) != 1 || missing[0].SHA256 != hashB {
		t.Fatalf("missing %+v", missing)
	}
	if n := len(m.Missing(func(string) bool { return true })); n != 0 {
		t.Fatalf("missing %d with all present", n)
	}
}

func TestValidateRefuses(t *testing.T) {
	dir := func(p string) Entry { return Entry{Path: p, Type: TypeDir, Mode: 0o755} }
	file := func(p string) Entry { return Entry{Path: p, Type: TypeFile, Mode: 0o644, Size: 1, SHA256: hashA} }
	link := func(p, target string) Entry { return Entry{Path: p, Type: TypeSymlink, Target: target} }
	cases := map[string][]Entry{
		"dotdot":           {file("../x")},
		"dotdot inside":    {dir("a"), file("a/../../x")},
		"absolute":         {file("/etc/passwd")},
		"empty path":       {file("")},
		"dot":              {file(".")},
		"double slash":     {dir("a"), file("a//b")},
		"trailing slash":   {dir("a/")},
		"NUL":              {file("a\x00b")},
		"bad utf8":         {file("a\xffb")},
		"duplicate":        {file("a"), file("a")},
		"duplicate types":  {dir("a"), file("a")},
		"unsorted":         {file("b"), file("a")},
		"missing parent":   {file("a/b")},
		"under a file":     {file("a"), file("a/b")},
		"under a symlink":  {dir("d"), link("l", "d"), file("l/x")},
		"link absolute":    {link("l", "/etc")},
		"link up":          {link("l", "..")},
		"link up deep":     {dir("a"), link("a/l", "../../x")},
		"link via link":    {dir("d"), link("d/up", ".."), link("esc", "d/up/..")},
		"link chain":       {link("a", "b"), link("b", "c/../.."), dir("c")},
		"link loop":        {link("a", "b"), link("b", "a")},
		"link self loop":   {link("a", "a/x")},
		"link empty":       {link("l", "")},
		"link NUL":         {link("l", "a\x00")},
		"link with mode":   {{Path: "l", Type: TypeSymlink, Target: "x", Mode: 0o777}},
		"setuid":           {{Path: "f", Type: TypeFile, Mode: 0o4755, Size: 1, SHA256: hashA}},
		"bad hash":         {{Path: "f", Type: TypeFile, Size: 1, SHA256: "ABC"}},
		"uppercase hash":   {{Path: "f", Type: TypeFile, Size: 1, SHA256: strings.ToUpper(hashA)}},
		"negative size":    {{Path: "f", Type: TypeFile, Size: -1, SHA256: hashA}},
		"file with target": {{Path: "f", Type: TypeFile, SHA256: hashA, Target: "x"}},
		"dir with hash":    {{Path: "d", Type: TypeDir, SHA256: hashA}},
		"unknown type":     {{Path: "d", Type: "fifo"}},
		"long component":   {file(strings.Repeat("x", 256))},
		"long path":        {file(strings.Repeat("x/", 2100) + "x")},
	}
	for name, entries := range cases {
		m := &Manifest{Version: ManifestVersion, Entries: entries}
		if err := m.Validate(); !errors.Is(err, ErrInvalidManifest) {
			t.Errorf("%s: Validate = %v", name, err)
		}
	}
	if err := (&Manifest{Version: 2}).Validate(); !errors.Is(err, ErrInvalidManifest) {
		t.Errorf("version 2: %v", err)
	}

	ok := map[string][]Entry{
		"link to root":        {link("l", ".")},
		"link inside":         {dir("a"), dir("a/b"), link("a/b/l", "../../c"), file("c")},
		"dangling inside":     {link("l", "nowhere/x")},
		"link to dir link":    {link("a", "d"), link("b", "a/../d"), dir("d")},
		"dir via link parent": {dir("d"), dir("d/e"), link("l", "d/e/.."), link("m", "l/e")},
		"empty":               {},
	}
	for name, entries := range ok {
		m := &Manifest{Version: ManifestVersion, Entries: entries}
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseManifestRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":       `nope`,
		"unknown field":  `{"version":1,"entries":[],"extra":1}`,
		"unknown entry":  `{"version":1,"entries":[{"path":"a","type":"dir","owner":"root"}]}`,
		"trailing data":  `{"version":1,"entries":[]} {}`,
		"wrong type":     `{"version":1,"entries":[{"path":1,"type":"dir"}]}`,
		"mode overflow":  `{"version":1,"entries":[{"path":"a","type":"dir","mode":-1}]}`,
		"no version":     `{"entries":[]}`,
		"report smuggle": `{"version":1,"entries":[],"Report":{}}`,
	} {
		if _, err := ParseManifest([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
