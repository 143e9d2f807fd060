package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func insertBuild(t *testing.T, db *DB, project, id string) int64 {
	t.Helper()
	row, err := db.InsertBuild(context.Background(), project, func(n int64) (BuildRow, error) {
		return BuildRow{ID: id, Project: project, Body: []byte(fmt.Sprintf(`{"buildNumber":%d}`, n)), Plan: []byte("{}")}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return row.Number
}

// Deleting a project deletes its finished builds; one still running stays,
// and then a project made again under the same name goes on numbering after
// it rather than giving a second build the same number. With no build left,
// a new project starts again at 1.
func TestDeleteProjectKeepsNumbersOfRunningBuilds(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "hangar.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	create := func(name string) {
		t.Helper()
		if err := db.CreateProject(ctx, ProjectRow{Name: name, Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}

	create("p")
	insertBuild(t, db, "p", "p:1")
	insertBuild(t, db, "p", "p:2")
	if err := db.SaveBuild(ctx, "p:1", []byte("{}"), true); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteProject(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Build(ctx, "p:1"); err != ErrNotFound {
		t.Errorf("finished build after DeleteProject: %v, want ErrNotFound", err)
	}
	if _, err := db.Build(ctx, "p:2"); err != nil {
		t.Errorf("running build after DeleteProject: %v", err)
	}
	create("p")
	if n := insertBuild(t, db, "p", "p:3"); n != 3 {
		t.Errorf("first build of the project made again is number %d beside a running number 2; want 3", n)
	}

	create("q")
	insertBuild(t, db, "q", "q:1")
	if err := db.SaveBuild(ctx, "q:1", []byte("{}"), true); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteProject(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	create("q")
	if n := insertBuild(t, db, "q", "q:2"); n != 1 {
		t.Errorf("first build of a project made again with no build left is number %d, want 1", n)
	}
}
