package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hangarci/hangar/internal/model"
)

func openParamsDB(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hangar.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func putParamValue(t *testing.T, db *DB, key, name, value string) *Param {
	t.Helper()
	p, err := db.PutParam(context.Background(), key, func(cur *Param) (*Param, error) {
		return &Param{Name: name, Tags: []model.ParameterTag{{Key: "k", Value: "v"}}, ParamVersion: ParamVersion{
			Type: model.ParamString, Value: []byte(value), Tier: model.TierStandard, DataType: "text",
			Modified: time.UnixMilli(1700000000123),
		}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParamVersions(t *testing.T) {
	ctx := context.Background()
	db, path := openParamsDB(t)
	if _, err := db.Param(ctx, "/a/b", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing parameter: err = %v", err)
	}
	p := putParamValue(t, db, "/a/b", "/a/b", "one")
	if p.Version != 1 {
		t.Fatalf("first version = %d", p.Version)
	}
	p = putParamValue(t, db, "/a/b", "ignored", "two")
	if p.Version != 2 || p.Name != "/a/b" || len(p.Tags) != 1 {
		t.Fatalf("second put = %+v; want version 2 keeping name and tags", p)
	}

	boom := errors.New("refused")
	_, err := db.PutParam(ctx, "/a/b", func(cur *Param) (*Param, error) {
		if cur == nil || cur.Version != 2 || string(cur.Value) != "two" {
			t.Errorf("fn got %+v", cur)
		}
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("fn error: got %v", err)
	}

	db.Close()
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	latest, err := db.Param(ctx, "/a/b", 0)
	if err != nil || latest.Version != 2 || string(latest.Value) != "two" {
		t.Fatalf("latest = %+v, %v", latest, err)
	}
	if !latest.Modified.Equal(time.UnixMilli(1700000000123)) {
		t.Errorf("modified = %v", latest.Modified)
	}
	v1, err := db.Param(ctx, "/a/b", 1)
	if err != nil || string(v1.Value) != "one" {
		t.Fatalf("version 1 = %+v, %v", v1, err)
	}
	if _, err := db.Param(ctx, "/a/b", 3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("version 3: err = %v", err)
	}
	h, err := db.ParamHistory(ctx, "/a/b")
	if err != nil || len(h) != 2 || h[0].Version != 1 || h[1].Version != 2 {
		t.Fatalf("history = %v, %v", h, err)
	}
}

func TestParamVersionLimit(t *testing.T) {
	db, _ := openParamsDB(t)
	for i := 1; i <= MaxParamVersions+5; i++ {
		putParamValue(t, db, "p", "p", fmt.Sprint(i))
	}
	h, err := db.ParamHistory(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != MaxParamVersions || h[0].Version != 6 || h[len(h)-1].Version != MaxParamVersions+5 {
		t.Fatalf("kept %d versions from %d to %d", len(h), h[0].Version, h[len(h)-1].Version)
	}
}

func TestParamsPrefix(t *testing.T) {
	ctx := context.Background()
	db, _ := openParamsDB(t)
	for _, k := range []string{"/app/a", "/app/b/c", "/app_x/d", "/apq", "top", "/app/\xff"} {
		putParamValue(t, db, k, k, "v-"+k)
	}
	ps, err := db.Params(ctx, "/app/", true)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range ps {
		keys = append(keys, p.Key)
		if string(p.Value) != "v-"+p.Key {
			t.Errorf("%s value %q", p.Key, p.Value)
		}
	}
	if fmt.Sprint(keys) != fmt.Sprint([]string{"/app/a", "/app/b/c", "/app/\xff"}) {
		t.Errorf("keys under /app/ = %q", keys)
	}
	all, err := db.Params(ctx, "", false)
	if err != nil || len(all) != 6 {
		t.Fatalf("all = %d, %v", len(all), err)
	}
	for _, p := range all {
		if len(p.Value) != 0 {
			t.Errorf("listing without values returned a value for %s", p.Key)
		}
	}
}

func TestDeleteParam(t *testing.T) {
	ctx := context.Background()
	db, _ := openParamsDB(t)
	putParamValue(t, db, "x", "x", "1")
	putParamValue(t, db, "x", "x", "2")
	if err := db.DeleteParam(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteParam(ctx, "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if ok, err := db.ParamExists(ctx, "x"); ok || err != nil {
		t.Fatalf("exists after delete: %v %v", ok, err)
	}
	if p := putParamValue(t, db, "x", "x", "3"); p.Version != 1 {
		t.Fatalf("recreated parameter starts at version %d", p.Version)
	}
}
