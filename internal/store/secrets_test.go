package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hangarci/hangar/internal/model"
)

var secretT0 = time.UnixMilli(1700000000000)

func newTestSecret(t *testing.T, db *DB, name string) *Secret {
	t.Helper()
	s, err := db.EditSecret(context.Background(), SecretKey{Name: name}, secretT0, func(cur *Secret) (*Secret, error) {
		if cur != nil {
			return nil, ErrExists
		}
		return &Secret{
			Name: name, ARN: "arn:aws:secretsmanager:us-east-1:000000000000:secret:" + name + "-AbCdEf",
			Description: "d", Tags: []model.SecretTag{{Key: "team", Value: "x"}},
			Created: secretT0, Changed: secretT0,
			Versions: []*SecretVersion{{ID: "v1", Value: []byte("sealed-1"), Stages: []string{"AWSCURRENT"}, Created: secretT0}},
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSecretLifecycle(t *testing.T) {
	ctx := context.Background()
	db, path := openParamsDB(t)
	s := newTestSecret(t, db, "db/pass")
	if _, err := db.EditSecret(ctx, SecretKey{Name: "db/pass"}, secretT0, func(cur *Secret) (*Secret, error) {
		if cur == nil {
			t.Fatal("existing secret not found")
		}
		return nil, ErrExists
	}); !errors.Is(err, ErrExists) {
		t.Fatalf("err = %v", err)
	}

	// Add a version and move the stages.
	_, err := db.EditSecret(ctx, SecretKey{ARN: s.ARN}, secretT0, func(cur *Secret) (*Secret, error) {
		cur.Versions[0].Stages = []string{"AWSPREVIOUS"}
		cur.Versions = append(cur.Versions, &SecretVersion{ID: "v2", Binary: true, Value: []byte("sealed-2"), Stages: []string{"AWSCURRENT"}, Created: secretT0.Add(time.Second)})
		cur.Description = "changed"
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}

	db.Close()
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, k := range []SecretKey{{Name: "db/pass"}, {ARN: s.ARN}, {ARN: s.ARN + "x", Name: "db/pass"}} {
		got, err := db.Secret(ctx, k, secretT0)
		if err != nil {
			t.Fatalf("%v: %v", k, err)
		}
		if got.Description != "changed" || len(got.Versions) != 2 || len(got.Tags) != 1 {
			t.Fatalf("%v: got %+v", k, got)
		}
		if v := got.Staged("AWSCURRENT"); v == nil || v.ID != "v2" || !v.Binary || string(v.Value) != "sealed-2" {
			t.Fatalf("current = %+v", v)
		}
		if v := got.Staged("AWSPREVIOUS"); v == nil || v.ID != "v1" || v.Binary {
			t.Fatalf("previous = %+v", v)
		}
	}
	if _, err := db.Secret(ctx, SecretKey{ARN: "arn:nope"}, secretT0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("foreign ARN: %v", err)
	}

	list, err := db.Secrets(ctx, secretT0)
	if err != nil || len(list) != 1 || len(list[0].Versions) != 2 || list[0].Versions[0].Value != nil {
		t.Fatalf("list = %+v, %v", list, err)
	}

	if err := db.TouchSecret(ctx, "db/pass", secretT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchSecret(ctx, "db/pass", secretT0); err != nil { // older: no change
		t.Fatal(err)
	}
	got, _ := db.Secret(ctx, SecretKey{Name: "db/pass"}, secretT0)
	if got.Accessed == nil || !got.Accessed.Equal(secretT0.Add(time.Hour)) {
		t.Fatalf("accessed = %v", got.Accessed)
	}

	// Delete it.
	if _, err := db.EditSecret(ctx, SecretKey{Name: "db/pass"}, secretT0, func(*Secret) (*Secret, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Secret(ctx, SecretKey{Name: "db/pass"}, secretT0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestSecretScheduledDeletionExpires(t *testing.T) {
	ctx := context.Background()
	db, _ := openParamsDB(t)
	newTestSecret(t, db, "s")
	when := secretT0.Add(7 * 24 * time.Hour)
	if _, err := db.EditSecret(ctx, SecretKey{Name: "s"}, secretT0, func(cur *Secret) (*Secret, error) {
		cur.Deletion = &when
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if s, err := db.Secret(ctx, SecretKey{Name: "s"}, when.Add(-time.Millisecond)); err != nil || s.Deletion == nil {
		t.Fatalf("before the deletion date: %+v, %v", s, err)
	}
	if _, err := db.Secret(ctx, SecretKey{Name: "s"}, when); !errors.Is(err, ErrNotFound) {
		t.Fatalf("at the deletion date: %v", err)
	}
	if l, _ := db.Secrets(ctx, when); len(l) != 0 {
		t.Fatalf("listed after expiry: %d", len(l))
	}
	// The name is free again once the date has passed.
	_, err := db.EditSecret(ctx, SecretKey{Name: "s"}, when, func(cur *Secret) (*Secret, error) {
		if cur != nil {
			t.Error("expired secret handed to fn")
		}
		return &Secret{Name: "s", ARN: "arn:new", Created: when, Changed: when,
			Versions: []*SecretVersion{{ID: "n1", Value: []byte("x"), Stages: []string{"AWSCURRENT"}, Created: when}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.Secret(ctx, SecretKey{Name: "s"}, when)
	if err != nil || s.ARN != "arn:new" || len(s.Versions) != 1 || s.Versions[0].ID != "n1" {
		t.Fatalf("recreated = %+v, %v", s, err)
	}
}

func TestSecretVersionPruning(t *testing.T) {
	ctx := context.Background()
	db, _ := openParamsDB(t)
	newTestSecret(t, db, "p")
	for i := 2; i <= MaxSecretVersions+10; i++ {
		_, err := db.EditSecret(ctx, SecretKey{Name: "p"}, secretT0, func(cur *Secret) (*Secret, error) {
			for _, v := range cur.Versions {
				v.Stages = nil
			}
			cur.Versions = append(cur.Versions, &SecretVersion{ID: fmt.Sprintf("v%d", i), Value: []byte("x"),
				Stages: []string{"AWSCURRENT"}, Created: secretT0.Add(time.Duration(i) * time.Second)})
			return cur, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	s, err := db.Secret(ctx, SecretKey{Name: "p"}, secretT0)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Versions) != MaxSecretVersions || s.Versions[0].ID != "v11" || s.Staged("AWSCURRENT").ID != fmt.Sprintf("v%d", MaxSecretVersions+10) {
		t.Fatalf("kept %d versions, first %s", len(s.Versions), s.Versions[0].ID)
	}
}
