package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// schemaObjects holds S3 buckets, object metadata and multipart uploads;
// object bytes live in the blob store on disk, named by blob (sha256 hex).
//
// Keys are TEXT compared with SQLite's default BINARY collation (memcmp), so
// ORDER BY key is S3's UTF-8 binary order.
const schemaObjects = `
CREATE TABLE buckets (
	name    TEXT PRIMARY KEY,
	created INTEGER NOT NULL
) STRICT;
CREATE TABLE objects (
	bucket        TEXT NOT NULL REFERENCES buckets(name),
	key           TEXT NOT NULL,
	blob          TEXT NOT NULL,
	size          INTEGER NOT NULL,
	etag          TEXT NOT NULL,
	content_type  TEXT NOT NULL DEFAULT '',
	meta          TEXT NOT NULL DEFAULT '{}',
	headers       TEXT NOT NULL DEFAULT '{}',
	checksum_algo TEXT NOT NULL DEFAULT '',
	checksum_type TEXT NOT NULL DEFAULT '',
	checksum      TEXT NOT NULL DEFAULT '',
	parts         INTEGER NOT NULL DEFAULT 0,
	modified      INTEGER NOT NULL,
	PRIMARY KEY (bucket, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX objects_blob ON objects(blob);
CREATE TABLE uploads (
	id            TEXT PRIMARY KEY,
	bucket        TEXT NOT NULL REFERENCES buckets(name),
	key           TEXT NOT NULL,
	content_type  TEXT NOT NULL DEFAULT '',
	meta          TEXT NOT NULL DEFAULT '{}',
	headers       TEXT NOT NULL DEFAULT '{}',
	checksum_algo TEXT NOT NULL DEFAULT '',
	checksum_type TEXT NOT NULL DEFAULT '',
	created       INTEGER NOT NULL
) STRICT;
CREATE INDEX uploads_bucket ON uploads(bucket, key, created);
CREATE TABLE upload_parts (
	upload   TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
	number   INTEGER NOT NULL,
	blob     TEXT NOT NULL,
	size     INTEGER NOT NULL,
	etag     TEXT NOT NULL,
	checksum TEXT NOT NULL DEFAULT '',
	modified INTEGER NOT NULL,
	PRIMARY KEY (upload, number)
) STRICT, WITHOUT ROWID;
CREATE INDEX upload_parts_blob ON upload_parts(blob);
`

// ErrNoSuchBucket is returned when an operation names a bucket that does not
// exist. It matches ErrNotFound too.
var ErrNoSuchBucket = fmt.Errorf("bucket %w", ErrNotFound)

// ErrNotEmpty is returned when deleting a bucket that still holds objects.
var ErrNotEmpty = errors.New("bucket not empty")

// MaxKeyLen is the longest object key S3 accepts, in bytes of UTF-8.
const MaxKeyLen = 1024

// Bucket is an S3 bucket.
type Bucket struct {
	Name    string
	Created time.Time
}

// Object is the metadata of one S3 object; its bytes are blob Blob.
type Object struct {
	Bucket      string
	Key         string
	Blob        string // sha256 hex of the content
	Size        int64
	ETag        string // without quotes: md5 hex, or md5-of-md5s "-N" for multipart
	ContentType string
	// Metadata holds the x-amz-meta-* values, keyed by lowercase name
	// without the prefix.
	Metadata map[string]string
	// Headers holds the other stored headers S3 returns on GET
	// (Cache-Control, Content-Disposition, Content-Encoding, …).
	Headers map[string]string
	// ChecksumAlgorithm (CRC32, CRC32C, CRC64NVME, SHA1, SHA256), its
	// base64 Checksum and ChecksumType (FULL_OBJECT or COMPOSITE), when the
	// client sent one.
	ChecksumAlgorithm string
	ChecksumType      string
	Checksum          string
	Parts             int // parts of a multipart upload; 0 for a single PUT
	Modified          time.Time
}

// ListOptions selects objects of one bucket.
type ListOptions struct {
	Prefix    string
	Delimiter string
	// After lists only keys (and common prefixes) sorting after it: S3's
	// start-after, marker, or the last entry of the previous page.
	After string
	Max   int
}

// ListResult is one page of a listing, in key order.
type ListResult struct {
	Objects        []Object
	CommonPrefixes []string
	Truncated      bool
	// Next is the last key or common prefix of this page; pass it as After
	// to get the next page.
	Next string
}

func validKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("object key of %d bytes: must be 1 to %d", len(key), MaxKeyLen)
	}
	return nil
}

// CreateBucket creates bucket name; ErrExists if it exists.
func (db *DB) CreateBucket(ctx context.Context, name string, created time.Time) error {
	err := db.tx(ctx, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `INSERT INTO buckets(name, created) VALUES (?, ?) ON CONFLICT DO NOTHING`, name, created.UnixMilli())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrExists
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	return nil
}

// Bucket returns bucket name, or ErrNoSuchBucket.
func (db *DB) Bucket(ctx context.Context, name string) (Bucket, error) {
	var ms int64
	err := db.r.QueryRowContext(ctx, `SELECT created FROM buckets WHERE name = ?`, name).Scan(&ms)
	if errors.Is(err, sql.ErrNoRows) {
		return Bucket{}, fmt.Errorf("get bucket %s: %w", name, ErrNoSuchBucket)
	}
	if err != nil {
		return Bucket{}, fmt.Errorf("get bucket %s: %w", name, err)
	}
	return Bucket{Name: name, Created: time.UnixMilli(ms).UTC()}, nil
}

// ListBuckets returns all buckets sorted by name.
func (db *DB) ListBuckets(ctx context.Context) ([]Bucket, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT name, created FROM buckets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list buckets: %w", err)
	}
	defer rows.Close()
	var out []Bucket
	for rows.Next() {
		var b Bucket
		var ms int64
		if err := rows.Scan(&b.Name, &ms); err != nil {
			return nil, fmt.Errorf("list buckets: %w", err)
		}
		b.Created = time.UnixMilli(ms).UTC()
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list buckets: %w", err)
	}
	return out, nil
}

// DeleteBucket deletes an empty bucket: ErrNoSuchBucket if it does not
// exist, ErrNotEmpty if it holds objects. Unfinished multipart uploads are
// dropped with it; the blobs of their parts are returned so the caller can
// remove the ones no longer referenced.
func (db *DB) DeleteBucket(ctx context.Context, name string) (partBlobs []string, err error) {
	err = db.tx(ctx, func(t *sql.Tx) error {
		if err := bucketExists(ctx, t, name); err != nil {
			return err
		}
		var one int
		err := t.QueryRowContext(ctx, `SELECT 1 FROM objects WHERE bucket = ? LIMIT 1`, name).Scan(&one)
		if err == nil {
			return ErrNotEmpty
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		partBlobs, err = queryStrings(ctx, t, `SELECT DISTINCT p.blob FROM upload_parts p JOIN uploads u ON u.id = p.upload WHERE u.bucket = ?`, name)
		if err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `DELETE FROM uploads WHERE bucket = ?`, name); err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `DELETE FROM buckets WHERE name = ?`, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete bucket %s: %w", name, err)
	}
	return partBlobs, nil
}

func bucketExists(ctx context.Context, t *sql.Tx, name string) error {
	var one int
	err := t.QueryRowContext(ctx, `SELECT 1 FROM buckets WHERE name = ?`, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoSuchBucket
	}
	return err
}

func queryStrings(ctx context.Context, t *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := t.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanStrings(rows)
}

func marshalMap(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func unmarshalMap(s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]string
	err := json.Unmarshal([]byte(s), &m)
	return m, err
}

// PutObject stores o, replacing any object with the same key, and returns
// the blob of the object it replaced ("" if none) so the caller can remove it
// once unreferenced.
func (db *DB) PutObject(ctx context.Context, o Object) (prevBlob string, err error) {
	err = db.tx(ctx, func(t *sql.Tx) error {
		prevBlob, err = putObject(ctx, t, o)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("put object %s/%s: %w", o.Bucket, o.Key, err)
	}
	return prevBlob, nil
}

// AddObjects stores objs in one transaction, all or none, skipping those
// whose key already holds the same blob (content-addressed keys, where the
// same blob means the same object). It returns how many it stored and the
// blobs of the objects it replaced, for the caller to remove once
// unreferenced.
func (db *DB) AddObjects(ctx context.Context, objs []Object) (added int, prevBlobs []string, err error) {
	err = db.tx(ctx, func(t *sql.Tx) error {
		added, prevBlobs = 0, nil
		checked := make(map[string]bool)
		// Prepared once: thousands of rows go in at a time, and parsing
		// the statements again for each shows.
		sel, err := t.PrepareContext(ctx, `SELECT blob FROM objects WHERE bucket = ? AND key = ?`)
		if err != nil {
			return err
		}
		defer sel.Close()
		ins, err := t.PrepareContext(ctx, insertObject)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, o := range objs {
			if err := validKey(o.Key); err != nil {
				return fmt.Errorf("put object %s/%s: %w", o.Bucket, o.Key, err)
			}
			if !checked[o.Bucket] {
				if err := bucketExists(ctx, t, o.Bucket); err != nil {
					return err
				}
				checked[o.Bucket] = true
			}
			var prev string
			err := sel.QueryRowContext(ctx, o.Bucket, o.Key).Scan(&prev)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err == nil && prev == o.Blob {
				continue
			}
			args, err := objectArgs(o)
			if err != nil {
				return err
			}
			if _, err := ins.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("put object %s/%s: %w", o.Bucket, o.Key, err)
			}
			added++
			if prev != "" {
				prevBlobs = append(prevBlobs, prev)
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("add %d objects: %w", len(objs), err)
	}
	return added, prevBlobs, nil
}

const insertObject = `INSERT OR REPLACE INTO objects
		(bucket, key, blob, size, etag, content_type, meta, headers, checksum_algo, checksum_type, checksum, parts, modified)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// objectArgs are the values of insertObject for o.
func objectArgs(o Object) ([]any, error) {
	meta, err := marshalMap(o.Metadata)
	if err != nil {
		return nil, err
	}
	headers, err := marshalMap(o.Headers)
	if err != nil {
		return nil, err
	}
	return []any{o.Bucket, o.Key, o.Blob, o.Size, o.ETag, o.ContentType, meta, headers,
		o.ChecksumAlgorithm, o.ChecksumType, o.Checksum, o.Parts, o.Modified.UnixMilli()}, nil
}

func putObject(ctx context.Context, t *sql.Tx, o Object) (string, error) {
	if err := validKey(o.Key); err != nil {
		return "", err
	}
	if err := bucketExists(ctx, t, o.Bucket); err != nil {
		return "", err
	}
	args, err := objectArgs(o)
	if err != nil {
		return "", err
	}
	var prev string
	err = t.QueryRowContext(ctx, `SELECT blob FROM objects WHERE bucket = ? AND key = ?`, o.Bucket, o.Key).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	_, err = t.ExecContext(ctx, insertObject, args...)
	return prev, err
}

const objectColumns = `bucket, key, blob, size, etag, content_type, meta, headers, checksum_algo, checksum_type, checksum, parts, modified`

type scanner interface{ Scan(...any) error }

func scanObject(s scanner) (Object, error) {
	var o Object
	var meta, headers string
	var ms int64
	if err := s.Scan(&o.Bucket, &o.Key, &o.Blob, &o.Size, &o.ETag, &o.ContentType, &meta, &headers,
		&o.ChecksumAlgorithm, &o.ChecksumType, &o.Checksum, &o.Parts, &ms); err != nil {
		return Object{}, err
	}
	var err error
	if o.Metadata, err = unmarshalMap(meta); err != nil {
		return Object{}, fmt.Errorf("object metadata: %w", err)
	}
	if o.Headers, err = unmarshalMap(headers); err != nil {
		return Object{}, fmt.Errorf("object headers: %w", err)
	}
	o.Modified = time.UnixMilli(ms).UTC()
	return o, nil
}

// Object returns the object at bucket/key: ErrNoSuchBucket when the bucket
// does not exist, ErrNotFound when the key does not.
func (db *DB) Object(ctx context.Context, bucket, key string) (Object, error) {
	o, err := scanObject(db.r.QueryRowContext(ctx, `SELECT `+objectColumns+` FROM objects WHERE bucket = ? AND key = ?`, bucket, key))
	if errors.Is(err, sql.ErrNoRows) {
		if _, berr := db.Bucket(ctx, bucket); berr != nil {
			return Object{}, fmt.Errorf("get object %s/%s: %w", bucket, key, ErrNoSuchBucket)
		}
		return Object{}, fmt.Errorf("get object %s/%s: %w", bucket, key, ErrNotFound)
	}
	if err != nil {
		return Object{}, fmt.Errorf("get object %s/%s: %w", bucket, key, err)
	}
	return o, nil
}

// DeleteObject deletes bucket/key and returns its blob ("" when there was no
// such key: deleting a missing key is not an error, as in S3).
// ErrNoSuchBucket when the bucket does not exist.
func (db *DB) DeleteObject(ctx context.Context, bucket, key string) (blob string, err error) {
	err = db.tx(ctx, func(t *sql.Tx) error {
		if err := bucketExists(ctx, t, bucket); err != nil {
			return err
		}
		err := t.QueryRowContext(ctx, `DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING blob`, bucket, key).Scan(&blob)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("delete object %s/%s: %w", bucket, key, err)
	}
	return blob, nil
}

// prefixEnd returns the smallest string greater than every string starting
// with p. Valid UTF-8 never holds 0xFF, so p+"\xff" is one.
func prefixEnd(p string) string { return p + "\xff" }

// ListObjects lists one page of bucket's objects in UTF-8 binary key order.
// With a Delimiter, keys that hold it after Prefix are rolled up into one
// common prefix each (ending with the delimiter); objects and common
// prefixes together count against Max.
func (db *DB) ListObjects(ctx context.Context, bucket string, opt ListOptions) (ListResult, error) {
	if _, err := db.Bucket(ctx, bucket); err != nil {
		return ListResult{}, fmt.Errorf("list objects %s: %w", bucket, ErrNoSuchBucket)
	}
	res, err := db.listObjects(ctx, bucket, opt)
	if err != nil {
		return ListResult{}, fmt.Errorf("list objects %s: %w", bucket, err)
	}
	return res, nil
}

func (db *DB) listObjects(ctx context.Context, bucket string, opt ListOptions) (ListResult, error) {
	var res ListResult
	if opt.Max <= 0 {
		return res, nil
	}
	// from is the lower bound: keys > from (or >= from when inclusive).
	from, inclusive := opt.After, false
	if from < opt.Prefix {
		from, inclusive = opt.Prefix, true
	}
	batch := min(opt.Max+1, 1001)
	emitted := 0
	for {
		cmp := ">"
		if inclusive {
			cmp = ">="
		}
		q := `SELECT ` + objectColumns + ` FROM objects WHERE bucket = ? AND key ` + cmp + ` ?`
		args := []any{bucket, from}
		if opt.Prefix != "" {
			q += ` AND key < ?`
			args = append(args, prefixEnd(opt.Prefix))
		}
		q += ` ORDER BY key LIMIT ?`
		args = append(args, batch)
		objs, err := queryObjects(ctx, db.r, q, args...)
		if err != nil {
			return ListResult{}, err
		}
		jumped := false
		for _, o := range objs {
			if cp := commonPrefix(o.Key, opt.Prefix, opt.Delimiter); cp != "" {
				// A common prefix is listed once, and never again on a
				// later page (it sorts at or before After there).
				if cp > opt.After {
					if emitted == opt.Max {
						res.Truncated = true
						return res, nil
					}
					res.CommonPrefixes = append(res.CommonPrefixes, cp)
					res.Next = cp
					emitted++
				}
				// Skip the rest of the keys under cp in one query
				// (but never back before After, which need not be
				// valid UTF-8).
				from, inclusive, jumped = prefixEnd(cp), true, true
				if from <= opt.After {
					from, inclusive = opt.After, false
				}
				break
			}
			if emitted == opt.Max {
				res.Truncated = true
				return res, nil
			}
			res.Objects = append(res.Objects, o)
			res.Next = o.Key
			emitted++
			from, inclusive = o.Key, false
		}
		if !jumped && len(objs) < batch {
			return res, nil
		}
	}
}

func commonPrefix(key, prefix, delim string) string {
	if delim == "" || !strings.HasPrefix(key, prefix) {
		return ""
	}
	i := strings.Index(key[len(prefix):], delim)
	if i < 0 {
		return ""
	}
	return key[:len(prefix)+i+len(delim)]
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryObjects(ctx context.Context, q querier, query string, args ...any) ([]Object, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// BlobInUse reports whether any object or multipart part still references
// blob. Callers serialise it with their own blob commits so that a blob is
// never removed between the check and a new reference.
func (db *DB) BlobInUse(ctx context.Context, blob string) (bool, error) {
	var one int
	err := db.r.QueryRowContext(ctx, `SELECT 1 WHERE EXISTS (SELECT 1 FROM objects WHERE blob = ?) OR EXISTS (SELECT 1 FROM upload_parts WHERE blob = ?)`, blob, blob).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check references of blob %s: %w", blob, err)
	}
	return true, nil
}

// Upload is an unfinished multipart upload.
type Upload struct {
	ID                string
	Bucket            string
	Key               string
	ContentType       string
	Metadata          map[string]string
	Headers           map[string]string
	ChecksumAlgorithm string
	ChecksumType      string
	Created           time.Time
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number   int
	Blob     string
	Size     int64
	ETag     string // md5 hex, without quotes
	Checksum string // base64, of the upload's checksum algorithm; "" if none
	Modified time.Time
}

// CreateUpload records a new multipart upload; ErrNoSuchBucket if its
// bucket does not exist.
func (db *DB) CreateUpload(ctx context.Context, u Upload) error {
	err := db.tx(ctx, func(t *sql.Tx) error {
		if err := validKey(u.Key); err != nil {
			return err
		}
		if err := bucketExists(ctx, t, u.Bucket); err != nil {
			return err
		}
		meta, err := marshalMap(u.Metadata)
		if err != nil {
			return err
		}
		headers, err := marshalMap(u.Headers)
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `INSERT INTO uploads (id, bucket, key, content_type, meta, headers, checksum_algo, checksum_type, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Bucket, u.Key, u.ContentType, meta, headers, u.ChecksumAlgorithm, u.ChecksumType, u.Created.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("create upload %s/%s: %w", u.Bucket, u.Key, err)
	}
	return nil
}

const uploadColumns = `id, bucket, key, content_type, meta, headers, checksum_algo, checksum_type, created`

func scanUpload(s scanner) (Upload, error) {
	var u Upload
	var meta, headers string
	var ms int64
	if err := s.Scan(&u.ID, &u.Bucket, &u.Key, &u.ContentType, &meta, &headers, &u.ChecksumAlgorithm, &u.ChecksumType, &ms); err != nil {
		return Upload{}, err
	}
	var err error
	if u.Metadata, err = unmarshalMap(meta); err != nil {
		return Upload{}, fmt.Errorf("upload metadata: %w", err)
	}
	if u.Headers, err = unmarshalMap(headers); err != nil {
		return Upload{}, fmt.Errorf("upload headers: %w", err)
	}
	u.Created = time.UnixMilli(ms).UTC()
	return u, nil
}

// Upload returns upload id of bucket/key, or ErrNotFound.
func (db *DB) Upload(ctx context.Context, bucket, key, id string) (Upload, error) {
	u, err := scanUpload(db.r.QueryRowContext(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE id = ? AND bucket = ? AND key = ?`, id, bucket, key))
	if errors.Is(err, sql.ErrNoRows) {
		return Upload{}, fmt.Errorf("get upload %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Upload{}, fmt.Errorf("get upload %s: %w", id, err)
	}
	return u, nil
}

// ListUploads returns up to max unfinished uploads of bucket whose key
// starts with prefix, by key then id.
func (db *DB) ListUploads(ctx context.Context, bucket, prefix string, max int) ([]Upload, error) {
	q := `SELECT ` + uploadColumns + ` FROM uploads WHERE bucket = ? AND key >= ?`
	args := []any{bucket, prefix}
	if prefix != "" {
		q += ` AND key < ?`
		args = append(args, prefixEnd(prefix))
	}
	q += ` ORDER BY key, id LIMIT ?`
	args = append(args, max)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list uploads %s: %w", bucket, err)
	}
	defer rows.Close()
	var out []Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, fmt.Errorf("list uploads %s: %w", bucket, err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list uploads %s: %w", bucket, err)
	}
	return out, nil
}

// PutPart records part p of upload id, replacing a part with the same
// number, and returns the replaced part's blob ("" if none). ErrNotFound if
// the upload does not exist (any more).
func (db *DB) PutPart(ctx context.Context, id string, p Part) (prevBlob string, err error) {
	err = db.tx(ctx, func(t *sql.Tx) error {
		var one int
		err := t.QueryRowContext(ctx, `SELECT 1 FROM uploads WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		err = t.QueryRowContext(ctx, `SELECT blob FROM upload_parts WHERE upload = ? AND number = ?`, id, p.Number).Scan(&prevBlob)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = t.ExecContext(ctx, `INSERT OR REPLACE INTO upload_parts (upload, number, blob, size, etag, checksum, modified)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, id, p.Number, p.Blob, p.Size, p.ETag, p.Checksum, p.Modified.UnixMilli())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("put part %d of upload %s: %w", p.Number, id, err)
	}
	return prevBlob, nil
}

// Parts returns the parts of upload id numbered above after, in order, at
// most max of them.
func (db *DB) Parts(ctx context.Context, id string, after, max int) ([]Part, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT number, blob, size, etag, checksum, modified FROM upload_parts
		WHERE upload = ? AND number > ? ORDER BY number LIMIT ?`, id, after, max)
	if err != nil {
		return nil, fmt.Errorf("list parts of upload %s: %w", id, err)
	}
	defer rows.Close()
	var out []Part
	for rows.Next() {
		var p Part
		var ms int64
		if err := rows.Scan(&p.Number, &p.Blob, &p.Size, &p.ETag, &p.Checksum, &ms); err != nil {
			return nil, fmt.Errorf("list parts of upload %s: %w", id, err)
		}
		p.Modified = time.UnixMilli(ms).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list parts of upload %s: %w", id, err)
	}
	return out, nil
}

// CompleteUpload ends upload id by storing o (the assembled object) in one
// transaction. It returns the blobs that lost a reference: the replaced
// object's and all the parts'. ErrNotFound if the upload is gone.
func (db *DB) CompleteUpload(ctx context.Context, id string, o Object) (released []string, err error) {
	err = db.tx(ctx, func(t *sql.Tx) error {
		var one int
		err := t.QueryRowContext(ctx, `SELECT 1 FROM uploads WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		released, err = queryStrings(ctx, t, `SELECT DISTINCT blob FROM upload_parts WHERE upload = ?`, id)
		if err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `DELETE FROM uploads WHERE id = ?`, id); err != nil {
			return err
		}
		prev, err := putObject(ctx, t, o)
		if err != nil {
			return err
		}
		if prev != "" {
			released = append(released, prev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("complete upload %s: %w", id, err)
	}
	return released, nil
}

// AbortUpload drops upload id and its parts and returns the parts' blobs.
// ErrNotFound if there is no such upload.
func (db *DB) AbortUpload(ctx context.Context, id string) (released []string, err error) {
	err = db.tx(ctx, func(t *sql.Tx) error {
		released, err = queryStrings(ctx, t, `SELECT DISTINCT blob FROM upload_parts WHERE upload = ?`, id)
		if err != nil {
			return err
		}
		res, err := t.ExecContext(ctx, `DELETE FROM uploads WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("abort upload %s: %w", id, err)
	}
	return released, nil
}
