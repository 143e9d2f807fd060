package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func openObjectsDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestBuckets(t *testing.T) {
	ctx := context.Background()
	db := openObjectsDB(t)
	now := time.Now()
	for _, n := range []string{"b2", "b1"} {
		if err := db.CreateBucket(ctx, n, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateBucket(ctx, "b1", now); !errors.Is(err, ErrExists) {
		t.Fatalf("create existing: %v", err)
	}
	bs, err := db.ListBuckets(ctx)
	if err != nil || len(bs) != 2 || bs[0].Name != "b1" || bs[1].Name != "b2" {
		t.Fatalf("ListBuckets = %v, %v", bs, err)
	}
	if _, err := db.Bucket(ctx, "nope"); !errors.Is(err, ErrNoSuchBucket) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("Bucket(nope): %v", err)
	}
	if _, err := db.PutObject(ctx, Object{Bucket: "b1", Key: "k", Blob: "x", Modified: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteBucket(ctx, "b1"); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	if err := db.CreateUpload(ctx, Upload{ID: "u1", Bucket: "b2", Key: "k", Created: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutPart(ctx, "u1", Part{Number: 1, Blob: "p1", Modified: now}); err != nil {
		t.Fatal(err)
	}
	released, err := db.DeleteBucket(ctx, "b2")
	if err != nil || !slices.Equal(released, []string{"p1"}) {
		t.Fatalf("delete bucket with an upload = %v, %v", released, err)
	}
	if _, err := db.DeleteBucket(ctx, "b2"); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("delete missing: %v", err)
	}
}

func TestObjects(t *testing.T) {
	ctx := context.Background()
	db := openObjectsDB(t)
	now := time.UnixMilli(1_700_000_000_123)
	if err := db.CreateBucket(ctx, "b", now); err != nil {
		t.Fatal(err)
	}
	o := Object{Bucket: "b", Key: "dir/ä b+c", Blob: "blob1", Size: 3, ETag: "e1", ContentType: "text/plain",
		Metadata: map[string]string{"color": "blue"}, Headers: map[string]string{"Cache-Control": "no-cache"},
		ChecksumAlgorithm: "CRC32", ChecksumType: "FULL_OBJECT", Checksum: "AAAAAA==", Modified: now}
	prev, err := db.PutObject(ctx, o)
	if err != nil || prev != "" {
		t.Fatalf("first put = %q, %v", prev, err)
	}
	got, err := db.Object(ctx, "b", o.Key)
	if err != nil {
		t.Fatal(err)
	}
	o.Modified = o.Modified.UTC()
	if !reflect.DeepEqual(got, o) {
		t.Fatalf("Object = %+v\nwant %+v", got, o)
	}
	o2 := o
	o2.Blob = "blob2"
	if prev, err := db.PutObject(ctx, o2); err != nil || prev != "blob1" {
		t.Fatalf("replace = %q, %v", prev, err)
	}
	if in, _ := db.BlobInUse(ctx, "blob1"); in {
		t.Fatal("blob1 still in use after replace")
	}
	if in, _ := db.BlobInUse(ctx, "blob2"); !in {
		t.Fatal("blob2 not in use")
	}
	if _, err := db.Object(ctx, "b", "missing"); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := db.Object(ctx, "nob", "k"); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("missing bucket: %v", err)
	}
	if _, err := db.PutObject(ctx, Object{Bucket: "nob", Key: "k", Modified: now}); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("put into missing bucket: %v", err)
	}
	if _, err := db.PutObject(ctx, Object{Bucket: "b", Key: strings.Repeat("k", MaxKeyLen+1), Modified: now}); err == nil {
		t.Fatal("put of a too long key succeeded")
	}
	if blob, err := db.DeleteObject(ctx, "b", o.Key); err != nil || blob != "blob2" {
		t.Fatalf("delete = %q, %v", blob, err)
	}
	if blob, err := db.DeleteObject(ctx, "b", o.Key); err != nil || blob != "" {
		t.Fatalf("delete again = %q, %v", blob, err)
	}
	if _, err := db.DeleteObject(ctx, "nob", "k"); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("delete in missing bucket: %v", err)
	}
}

func TestListObjects(t *testing.T) {
	ctx := context.Background()
	db := openObjectsDB(t)
	now := time.Now()
	db.CreateBucket(ctx, "b", now)
	keys := []string{"a", "a/1", "a/2", "a/b/3", "b", "c/x", "c/y", "d", "z", "é", "日本", "\U0001F600", "Z", "a%2F", "a b"}
	for _, k := range keys {
		if _, err := db.PutObject(ctx, Object{Bucket: "b", Key: k, Blob: "x", Modified: now}); err != nil {
			t.Fatal(err)
		}
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted) // Go compares strings bytewise: S3's order

	all := func(opt ListOptions) (objs, prefixes []string) {
		t.Helper()
		for range 100 {
			res, err := db.ListObjects(ctx, "b", opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range res.Objects {
				objs = append(objs, o.Key)
			}
			prefixes = append(prefixes, res.CommonPrefixes...)
			if !res.Truncated {
				return
			}
			if res.Next == "" || len(res.Objects)+len(res.CommonPrefixes) != opt.Max {
				t.Fatalf("truncated page of %d entries, next %q", len(res.Objects)+len(res.CommonPrefixes), res.Next)
			}
			opt.After = res.Next
		}
		t.Fatal("listing did not end")
		return
	}
	for _, max := range []int{1, 2, 3, 1000} {
		objs, prefixes := all(ListOptions{Max: max})
		if !slices.Equal(objs, sorted) || prefixes != nil {
			t.Fatalf("max %d: %q %q", max, objs, prefixes)
		}
		objs, prefixes = all(ListOptions{Max: max, Delimiter: "/"})
		if want := []string{"Z", "a", "a b", "a%2F", "b", "d", "z", "é", "日本", "\U0001F600"}; !slices.Equal(objs, want) {
			t.Fatalf("max %d delimiter: objects %q", max, objs)
		}
		if want := []string{"a/", "c/"}; !slices.Equal(prefixes, want) {
			t.Fatalf("max %d delimiter: prefixes %q", max, prefixes)
		}
		objs, prefixes = all(ListOptions{Max: max, Prefix: "a/", Delimiter: "/"})
		if !slices.Equal(objs, []string{"a/1", "a/2"}) || !slices.Equal(prefixes, []string{"a/b/"}) {
			t.Fatalf("max %d prefix a/: %q %q", max, objs, prefixes)
		}
	}
	objs, _ := all(ListOptions{Max: 1000, After: "c/x"})
	if want := sorted[slices.Index(sorted, "c/x")+1:]; !slices.Equal(objs, want) {
		t.Fatalf("after c/x: %q", objs)
	}
	objs, _ = all(ListOptions{Max: 1000, Prefix: "日"})
	if !slices.Equal(objs, []string{"日本"}) {
		t.Fatalf("unicode prefix: %q", objs)
	}
	res, err := db.ListObjects(ctx, "b", ListOptions{Max: 0})
	if err != nil || len(res.Objects) != 0 || res.Truncated {
		t.Fatalf("max 0: %+v %v", res, err)
	}
	if _, err := db.ListObjects(ctx, "nob", ListOptions{Max: 1}); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("list missing bucket: %v", err)
	}
}

func TestUploads(t *testing.T) {
	ctx := context.Background()
	db := openObjectsDB(t)
	now := time.Now()
	db.CreateBucket(ctx, "b", now)
	if err := db.CreateUpload(ctx, Upload{ID: "u", Bucket: "nob", Key: "k", Created: now}); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("upload into missing bucket: %v", err)
	}
	if err := db.CreateUpload(ctx, Upload{ID: "u", Bucket: "b", Key: "k", ChecksumAlgorithm: "CRC32", Metadata: map[string]string{"a": "b"}, Created: now}); err != nil {
		t.Fatal(err)
	}
	u, err := db.Upload(ctx, "b", "k", "u")
	if err != nil || u.ChecksumAlgorithm != "CRC32" || u.Metadata["a"] != "b" {
		t.Fatalf("Upload = %+v, %v", u, err)
	}
	if _, err := db.Upload(ctx, "b", "other", "u"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("upload of another key: %v", err)
	}
	db.PutPart(ctx, "u", Part{Number: 2, Blob: "p2", Size: 1, ETag: "e2", Modified: now})
	db.PutPart(ctx, "u", Part{Number: 1, Blob: "old", Size: 1, ETag: "e0", Modified: now})
	if prev, err := db.PutPart(ctx, "u", Part{Number: 1, Blob: "p1", Size: 1, ETag: "e1", Modified: now}); err != nil || prev != "old" {
		t.Fatalf("replace part = %q, %v", prev, err)
	}
	if _, err := db.PutPart(ctx, "nou", Part{Number: 1, Blob: "p", Modified: now}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("part of missing upload: %v", err)
	}
	parts, err := db.Parts(ctx, "u", 0, 1000)
	if err != nil || len(parts) != 2 || parts[0].Blob != "p1" || parts[1].Blob != "p2" {
		t.Fatalf("Parts = %+v, %v", parts, err)
	}
	if in, _ := db.BlobInUse(ctx, "p1"); !in {
		t.Fatal("part blob not in use")
	}
	ups, err := db.ListUploads(ctx, "b", "", 10)
	if err != nil || len(ups) != 1 {
		t.Fatalf("ListUploads = %v, %v", ups, err)
	}
	released, err := db.CompleteUpload(ctx, "u", Object{Bucket: "b", Key: "k", Blob: "whole", Parts: 2, Modified: now})
	slices.Sort(released)
	if err != nil || !slices.Equal(released, []string{"p1", "p2"}) {
		t.Fatalf("CompleteUpload = %v, %v", released, err)
	}
	if in, _ := db.BlobInUse(ctx, "p1"); in {
		t.Fatal("part blob in use after complete")
	}
	if _, err := db.CompleteUpload(ctx, "u", Object{Bucket: "b", Key: "k", Blob: "whole", Modified: now}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("complete twice: %v", err)
	}
	if o, err := db.Object(ctx, "b", "k"); err != nil || o.Blob != "whole" || o.Parts != 2 {
		t.Fatalf("completed object = %+v, %v", o, err)
	}
	db.CreateUpload(ctx, Upload{ID: "u2", Bucket: "b", Key: "k", Created: now})
	db.PutPart(ctx, "u2", Part{Number: 1, Blob: "q1", Modified: now})
	if released, err := db.AbortUpload(ctx, "u2"); err != nil || !slices.Equal(released, []string{"q1"}) {
		t.Fatalf("AbortUpload = %v, %v", released, err)
	}
	if _, err := db.AbortUpload(ctx, "u2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("abort twice: %v", err)
	}
}

func TestAddObjects(t *testing.T) {
	ctx := context.Background()
	db := openObjectsDB(t)
	t0, t1 := time.UnixMilli(1_700_000_000_000), time.UnixMilli(1_700_000_100_000)
	if err := db.CreateBucket(ctx, "b", t0); err != nil {
		t.Fatal(err)
	}
	obj := func(key, blob string, at time.Time) Object {
		return Object{Bucket: "b", Key: key, Blob: blob, Size: 1, ETag: "e", Modified: at}
	}
	if n, prev, err := db.AddObjects(ctx, []Object{obj("k1", "x1", t0), obj("k2", "x2", t0)}); err != nil || n != 2 || prev != nil {
		t.Fatalf("first add = %d, %v, %v", n, prev, err)
	}
	// k1 holds x1 already: left as it was; k2 changes blob; k3 is new.
	n, prev, err := db.AddObjects(ctx, []Object{obj("k1", "x1", t1), obj("k2", "y2", t1), obj("k3", "x3", t1)})
	if err != nil || n != 2 || !slices.Equal(prev, []string{"x2"}) {
		t.Fatalf("second add = %d, %v, %v", n, prev, err)
	}
	if o, err := db.Object(ctx, "b", "k1"); err != nil || !o.Modified.Equal(t0) {
		t.Errorf("k1 = %+v, %v; want it untouched", o, err)
	}
	// All or none: a missing bucket fails the lot.
	if _, _, err := db.AddObjects(ctx, []Object{obj("k4", "x4", t1), {Bucket: "nope", Key: "k", Blob: "z", Modified: t1}}); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("add to missing bucket: %v", err)
	}
	if _, err := db.Object(ctx, "b", "k4"); !errors.Is(err, ErrNotFound) {
		t.Errorf("k4 stored by a failed add: %v", err)
	}
}
