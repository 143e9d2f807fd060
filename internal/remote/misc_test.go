package remote

import (
	"errors"
	"testing"
	"time"

	"github.com/hangarci/hangar/internal/pack"
)

func TestArchiveKey(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 4, 5, 0, time.FixedZone("X", 3600))
	for _, c := range []struct {
		git  pack.Info
		want string
	}{
		{pack.Info{State: pack.GitOK, Branch: "main", SHA: "0123456789abcdef"}, "hangar/code/2026-11-27T02-04-05Z-main-0123456.zip"},
		{pack.Info{State: pack.GitOK, Branch: "feature/x y", SHA: "abcdef0123", Dirty: true}, "hangar/code/2026-11-27T02-04-05Z-feature-x-y-abcdef0-dirty.zip"},
		{pack.Info{State: pack.GitOK, Detached: true, SHA: "abcdef0123"}, "hangar/code/2026-11-27T02-04-05Z-detached-abcdef0.zip"},
		{pack.Info{State: pack.GitNotRepo}, "hangar/code/2026-11-27T02-04-05Z-nobranch-nocommit.zip"},
		{pack.Info{State: pack.GitOK, Branch: "a--b..c", SHA: "1111111"}, "hangar/code/2026-11-27T02-04-05Z-a-b-c-1111111.zip"},
	} {
		if got := ArchiveKey(now, c.git); got != c.want {
			t.Errorf("ArchiveKey(%+v) = %s, want %s", c.git, got, c.want)
		}
	}
}

func TestRememberRecall(t *testing.T) {
	dir := t.TempDir()
	if _, err := Recall(dir, "/src/a", "embedded /s"); !errors.Is(err, ErrNoLastBuild) {
		t.Fatalf("empty: %v", err)
	}
	a := LastBuild{Root: "/src/a", Runner: "embedded /s", BuildID: "a-dev-remote:1", Project: "a-dev-remote"}
	b := LastBuild{Root: "/src/b", Runner: "embedded /s", BuildID: "b-dev-remote-lambda:2", Project: "b-dev-remote-lambda"}
	for _, lb := range []LastBuild{a, b, {Root: "/src/a", Runner: "server http://x", BuildID: "other:3"}} {
		if err := Remember(dir, lb); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := Recall(dir, "/src/a", "embedded /s"); err != nil || got.BuildID != a.BuildID {
		t.Fatalf("recall a: %+v, %v", got, err)
	}
	if got, err := Recall(dir, "/src/b", "embedded /s"); err != nil || got.BuildID != b.BuildID {
		t.Fatalf("recall b: %+v, %v", got, err)
	}
	a.BuildID = "a-dev-remote:4"
	if err := Remember(dir, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := Recall(dir, "/src/a", "embedded /s"); got.BuildID != "a-dev-remote:4" {
		t.Fatalf("not replaced: %+v", got)
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{12 * time.Millisecond: "12ms", 1300 * time.Millisecond: "1.3s", 125 * time.Second: "2m05s", 3700 * time.Second: "1h01m"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %s, want %s", d, got, want)
		}
	}
}
