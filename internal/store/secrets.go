package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hangarci/hangar/internal/model"
)

// schemaSecrets holds Secrets Manager secrets and their versions. Values
// arrive sealed; the store never sees them in plaintext. A secret scheduled
// for deletion keeps its row (with deletion set) until it is restored, force
// deleted, or its name is taken again after the deletion date.
const schemaSecrets = `
CREATE TABLE secrets (
	name        TEXT PRIMARY KEY,
	arn         TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	kms_key_id  TEXT NOT NULL DEFAULT '',
	tags        TEXT NOT NULL DEFAULT '[]',
	created     INTEGER NOT NULL,
	changed     INTEGER NOT NULL,
	accessed    INTEGER,
	deletion    INTEGER
) STRICT;
CREATE TABLE secret_versions (
	secret  TEXT NOT NULL REFERENCES secrets(name) ON DELETE CASCADE,
	id      TEXT NOT NULL,
	is_binary INTEGER NOT NULL,
	value   BLOB NOT NULL,
	stages  TEXT NOT NULL DEFAULT '[]',
	created INTEGER NOT NULL,
	PRIMARY KEY (secret, id)
) STRICT;
`

// MaxSecretVersions is how many versions of a secret are kept: beyond it
// the oldest versions without a staging label are dropped, as Secrets
// Manager does.
const MaxSecretVersions = 100

// Secret is a secret with its versions, oldest first.
type Secret struct {
	Name        string
	ARN         string
	Description string
	KmsKeyID    string
	Tags        []model.SecretTag
	Created     time.Time
	Changed     time.Time
	Accessed    *time.Time
	// Deletion is when a secret scheduled for deletion goes away; nil when
	// it is not scheduled.
	Deletion *time.Time
	Versions []*SecretVersion
}

// SecretVersion is one value of a secret. Value is sealed. Listings leave
// Value nil.
type SecretVersion struct {
	ID      string
	Binary  bool
	Value   []byte
	Stages  []string
	Created time.Time
}

// Version returns the version with id, or nil.
func (s *Secret) Version(id string) *SecretVersion {
	for _, v := range s.Versions {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// Staged returns the version that carries stage, or nil.
func (s *Secret) Staged(stage string) *SecretVersion {
	for _, v := range s.Versions {
		if slices.Contains(v.Stages, stage) {
			return v
		}
	}
	return nil
}

// SecretKey names a secret by ARN or by name. A full ARN is tried first,
// then the name, so that "arn:…:secret:x-AbCdEf" finds the secret whose ARN
// it is, and a partial ARN resolved to a name by the caller finds it too.
type SecretKey struct {
	ARN  string
	Name string
}

func (k SecretKey) String() string {
	if k.ARN != "" {
		return k.ARN
	}
	return k.Name
}

// querier is a *sql.DB or *sql.Tx.
type secretQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const secretCols = `name, arn, description, kms_key_id, tags, created, changed, accessed, deletion`

func scanSecret(r interface{ Scan(dest ...any) error }) (*Secret, error) {
	s := new(Secret)
	var tags string
	var created, changed int64
	var accessed, deletion sql.NullInt64
	if err := r.Scan(&s.Name, &s.ARN, &s.Description, &s.KmsKeyID, &tags, &created, &changed, &accessed, &deletion); err != nil {
		return nil, err
	}
	s.Created, s.Changed = time.UnixMilli(created), time.UnixMilli(changed)
	if accessed.Valid {
		t := time.UnixMilli(accessed.Int64)
		s.Accessed = &t
	}
	if deletion.Valid {
		t := time.UnixMilli(deletion.Int64)
		s.Deletion = &t
	}
	if err := json.Unmarshal([]byte(tags), &s.Tags); err != nil {
		return nil, fmt.Errorf("decode tags of secret %s: %w", s.Name, err)
	}
	return s, nil
}

// expired reports whether s was scheduled for deletion and its time has
// come: such a secret is gone for every reader.
func (s *Secret) expired(now time.Time) bool {
	return s.Deletion != nil && !now.Before(*s.Deletion)
}

// findSecret reads the secret k names, with versions (values when values is
// true). It returns the secret even when it has expired; callers decide.
func findSecret(ctx context.Context, q secretQuerier, k SecretKey, values bool) (*Secret, error) {
	var s *Secret
	err := sql.ErrNoRows
	if k.ARN != "" {
		s, err = scanSecret(q.QueryRowContext(ctx, `SELECT `+secretCols+` FROM secrets WHERE arn = ?`, k.ARN))
	}
	if errors.Is(err, sql.ErrNoRows) && k.Name != "" {
		s, err = scanSecret(q.QueryRowContext(ctx, `SELECT `+secretCols+` FROM secrets WHERE name = ?`, k.Name))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	vs, err := secretVersions(ctx, q, s.Name, values)
	if err != nil {
		return nil, err
	}
	s.Versions = vs[s.Name]
	return s, nil
}

// secretVersions reads the versions of the secret named name, or of every
// secret when name is "", keyed by secret name, oldest first.
func secretVersions(ctx context.Context, q secretQuerier, name string, values bool) (map[string][]*SecretVersion, error) {
	val := "value"
	if !values {
		val = "NULL"
	}
	query := `SELECT secret, id, is_binary, ` + val + `, stages, created FROM secret_versions`
	var args []any
	if name != "" {
		query += ` WHERE secret = ?`
		args = append(args, name)
	}
	query += ` ORDER BY secret, created, rowid`
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string][]*SecretVersion)
	for rows.Next() {
		var secret, stages string
		var created int64
		v := new(SecretVersion)
		if err := rows.Scan(&secret, &v.ID, &v.Binary, &v.Value, &stages, &created); err != nil {
			return nil, err
		}
		v.Created = time.UnixMilli(created)
		if err := json.Unmarshal([]byte(stages), &v.Stages); err != nil {
			return nil, fmt.Errorf("decode stages of secret %s version %s: %w", secret, v.ID, err)
		}
		out[secret] = append(out[secret], v)
	}
	return out, rows.Err()
}

// Secret returns the secret k names, with its versions and their sealed
// values. A secret whose scheduled deletion time has passed at now is
// ErrNotFound.
func (db *DB) Secret(ctx context.Context, k SecretKey, now time.Time) (*Secret, error) {
	s, err := findSecret(ctx, db.r, k, true)
	if err == nil && s.expired(now) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", k, err)
	}
	return s, nil
}

// Secrets returns every secret that has not expired at now, ordered by
// name, with versions but without their values.
func (db *DB) Secrets(ctx context.Context, now time.Time) ([]*Secret, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+secretCols+` FROM secrets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	defer rows.Close()
	var out []*Secret
	for rows.Next() {
		s, err := scanSecret(rows)
		if err != nil {
			return nil, fmt.Errorf("list secrets: %w", err)
		}
		if !s.expired(now) {
			out = append(out, s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	vs, err := secretVersions(ctx, db.r, "", false)
	if err != nil {
		return nil, fmt.Errorf("list secret versions: %w", err)
	}
	for _, s := range out {
		s.Versions = vs[s.Name]
	}
	return out, nil
}

// EditSecret changes the secret k names inside one write transaction. fn
// gets the secret with its versions and sealed values (nil when there is
// none, or when its scheduled deletion has passed at now) and returns what
// to store: the same or a changed *Secret, a new one, or nil to delete it.
// Versions are append-only: a version already stored keeps its value and
// only its stages are updated; versions fn drops are deleted. An error from
// fn is returned as it is and nothing changes. EditSecret returns what was
// stored.
func (db *DB) EditSecret(ctx context.Context, k SecretKey, now time.Time, fn func(cur *Secret) (*Secret, error)) (*Secret, error) {
	var out *Secret
	err := db.tx(ctx, func(t *sql.Tx) error {
		cur, err := findSecret(ctx, t, k, true)
		if errors.Is(err, ErrNotFound) {
			cur, err = nil, nil
		}
		if err != nil {
			return fmt.Errorf("read secret %s: %w", k, err)
		}
		if cur != nil && cur.expired(now) {
			// Its time has come: purge it, so the name is free again.
			if err := deleteSecret(ctx, t, cur.Name); err != nil {
				return err
			}
			cur = nil
		}
		var old *Secret
		if cur != nil {
			old = cloneSecret(cur)
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		if next == nil {
			if old != nil {
				return deleteSecret(ctx, t, old.Name)
			}
			return nil
		}
		if old != nil && old.Name != next.Name {
			return fmt.Errorf("edit secret %s: renaming to %s is not supported", old.Name, next.Name)
		}
		if err := saveSecret(ctx, t, old, next); err != nil {
			return fmt.Errorf("save secret %s: %w", next.Name, err)
		}
		out = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func cloneSecret(s *Secret) *Secret {
	c := *s
	c.Tags = slices.Clone(s.Tags)
	c.Versions = make([]*SecretVersion, len(s.Versions))
	for i, v := range s.Versions {
		vc := *v
		vc.Stages = slices.Clone(v.Stages)
		c.Versions[i] = &vc
	}
	return &c
}

func deleteSecret(ctx context.Context, t *sql.Tx, name string) error {
	if _, err := t.ExecContext(ctx, `DELETE FROM secret_versions WHERE secret = ?`, name); err != nil {
		return fmt.Errorf("delete secret %s: %w", name, err)
	}
	if _, err := t.ExecContext(ctx, `DELETE FROM secrets WHERE name = ?`, name); err != nil {
		return fmt.Errorf("delete secret %s: %w", name, err)
	}
	return nil
}

func msOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// saveSecret writes next over old (nil for a new secret).
func saveSecret(ctx context.Context, t *sql.Tx, old, next *Secret) error {
	tags := next.Tags
	if tags == nil {
		tags = []model.SecretTag{}
	}
	tj, err := json.Marshal(tags)
	if err != nil {
		return err
	}
	_, err = t.ExecContext(ctx, `INSERT INTO secrets (`+secretCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET arn = excluded.arn, description = excluded.description,
		kms_key_id = excluded.kms_key_id, tags = excluded.tags, created = excluded.created,
		changed = excluded.changed, accessed = excluded.accessed, deletion = excluded.deletion`,
		next.Name, next.ARN, next.Description, next.KmsKeyID, string(tj), next.Created.UnixMilli(),
		next.Changed.UnixMilli(), msOrNil(next.Accessed), msOrNil(next.Deletion))
	if err != nil {
		return err
	}
	pruneSecretVersions(next)
	oldv := map[string]*SecretVersion{}
	if old != nil {
		for _, v := range old.Versions {
			oldv[v.ID] = v
		}
	}
	for _, v := range next.Versions {
		stages := v.Stages
		if stages == nil {
			stages = []string{}
		}
		sj, err := json.Marshal(stages)
		if err != nil {
			return err
		}
		if o, ok := oldv[v.ID]; ok {
			delete(oldv, v.ID)
			if slices.Equal(o.Stages, v.Stages) {
				continue
			}
			if _, err := t.ExecContext(ctx, `UPDATE secret_versions SET stages = ? WHERE secret = ? AND id = ?`,
				string(sj), next.Name, v.ID); err != nil {
				return err
			}
			continue
		}
		if v.Value == nil {
			return fmt.Errorf("version %s has no value", v.ID)
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO secret_versions (secret, id, is_binary, value, stages, created)
			VALUES (?, ?, ?, ?, ?, ?)`, next.Name, v.ID, v.Binary, v.Value, string(sj), v.Created.UnixMilli()); err != nil {
			return err
		}
	}
	for id := range oldv {
		if _, err := t.ExecContext(ctx, `DELETE FROM secret_versions WHERE secret = ? AND id = ?`, next.Name, id); err != nil {
			return err
		}
	}
	return nil
}

// pruneSecretVersions drops the oldest unlabelled versions of s beyond
// MaxSecretVersions.
func pruneSecretVersions(s *Secret) {
	extra := len(s.Versions) - MaxSecretVersions
	if extra <= 0 {
		return
	}
	kept := s.Versions[:0]
	for _, v := range s.Versions {
		if extra > 0 && len(v.Stages) == 0 {
			extra--
			continue
		}
		kept = append(kept, v)
	}
	s.Versions = kept
}

// TouchSecret records that the secret named name was read at day (Secrets
// Manager keeps the date only). It writes only when the day changed, so a
// read-heavy build does not turn every read into a write.
func (db *DB) TouchSecret(ctx context.Context, name string, day time.Time) error {
	err := db.tx(ctx, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `UPDATE secrets SET accessed = ? WHERE name = ? AND (accessed IS NULL OR accessed < ?)`,
			day.UnixMilli(), name, day.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("record access to secret %s: %w", name, err)
	}
	return nil
}
