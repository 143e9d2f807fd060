package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hangarci/hangar/internal/model"
)

// schemaParams holds SSM parameters and their versions. A parameter's key
// is its normalised name (SSM treats "/a" and "a" as one parameter); its
// name is the spelling it was created with. Values are BLOBs: SecureString
// values arrive sealed and the store never sees them in plaintext.
const schemaParams = `
CREATE TABLE params (
	key     TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	version INTEGER NOT NULL,
	tags    TEXT NOT NULL DEFAULT '[]'
) STRICT;
CREATE TABLE param_versions (
	key             TEXT NOT NULL REFERENCES params(key) ON DELETE CASCADE,
	version         INTEGER NOT NULL,
	type            TEXT NOT NULL,
	value           BLOB NOT NULL,
	description     TEXT NOT NULL DEFAULT '',
	key_id          TEXT NOT NULL DEFAULT '',
	allowed_pattern TEXT NOT NULL DEFAULT '',
	tier            TEXT NOT NULL,
	data_type       TEXT NOT NULL,
	modified        INTEGER NOT NULL,
	modified_user   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (key, version)
) STRICT;
`

// MaxParamVersions is how many versions of a parameter are kept; older ones
// are dropped as new ones arrive, as Parameter Store does.
const MaxParamVersions = 100

// Param is a parameter with one of its versions (the latest unless asked
// otherwise).
type Param struct {
	Key  string
	Name string
	Tags []model.ParameterTag
	ParamVersion
}

// ParamVersion is one version of a parameter. Value is sealed when Type is
// SecureString.
type ParamVersion struct {
	Version        int64
	Type           string
	Value          []byte
	Description    string
	KeyID          string
	AllowedPattern string
	Tier           string
	DataType       string
	Modified       time.Time
	ModifiedUser   string
}

const paramCols = `p.key, p.name, p.tags, v.version, v.type, v.value, v.description, v.key_id,
	v.allowed_pattern, v.tier, v.data_type, v.modified, v.modified_user`

// paramRow is a *sql.Row or *sql.Rows.
type paramRow interface{ Scan(dest ...any) error }

func scanParam(r paramRow) (*Param, error) {
	p := new(Param)
	var tags string
	var modified int64
	err := r.Scan(&p.Key, &p.Name, &tags, &p.Version, &p.Type, &p.Value, &p.Description, &p.KeyID,
		&p.AllowedPattern, &p.Tier, &p.DataType, &modified, &p.ModifiedUser)
	if err != nil {
		return nil, err
	}
	p.Modified = time.UnixMilli(modified)
	if err := json.Unmarshal([]byte(tags), &p.Tags); err != nil {
		return nil, fmt.Errorf("decode tags of parameter %s: %w", p.Key, err)
	}
	return p, nil
}

// Param returns version of the parameter with key, or its latest version
// when version is 0. ErrNotFound when either does not exist.
func (db *DB) Param(ctx context.Context, key string, version int64) (*Param, error) {
	q := `SELECT ` + paramCols + ` FROM params p JOIN param_versions v ON v.key = p.key AND v.version = p.version WHERE p.key = ?`
	args := []any{key}
	if version != 0 {
		q = `SELECT ` + paramCols + ` FROM params p JOIN param_versions v ON v.key = p.key WHERE p.key = ? AND v.version = ?`
		args = append(args, version)
	}
	p, err := scanParam(db.r.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read parameter %s: %w", key, err)
	}
	return p, nil
}

// ParamExists reports whether a parameter with key exists.
func (db *DB) ParamExists(ctx context.Context, key string) (bool, error) {
	var one int
	err := db.r.QueryRowContext(ctx, `SELECT 1 FROM params WHERE key = ?`, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up parameter %s: %w", key, err)
	}
	return true, nil
}

// ParamHistory returns every kept version of a parameter, oldest first.
func (db *DB) ParamHistory(ctx context.Context, key string) ([]*Param, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+paramCols+` FROM params p JOIN param_versions v ON v.key = p.key
		WHERE p.key = ? ORDER BY v.version`, key)
	if err != nil {
		return nil, fmt.Errorf("read history of parameter %s: %w", key, err)
	}
	defer rows.Close()
	var out []*Param
	for rows.Next() {
		p, err := scanParam(rows)
		if err != nil {
			return nil, fmt.Errorf("read history of parameter %s: %w", key, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read history of parameter %s: %w", key, err)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

// Params returns the latest version of every parameter whose key starts
// with prefix, ordered by key. With values false the Value fields are left
// empty, which spares reading them for listings that never show them.
func (db *DB) Params(ctx context.Context, prefix string, values bool) ([]*Param, error) {
	cols := paramCols
	if !values {
		cols = `p.key, p.name, p.tags, v.version, v.type, x'', v.description, v.key_id,
			v.allowed_pattern, v.tier, v.data_type, v.modified, v.modified_user`
	}
	// A range on the primary key instead of LIKE: LIKE would treat _ in
	// names as a wildcard and cannot use the index.
	q := `SELECT ` + cols + ` FROM params p JOIN param_versions v ON v.key = p.key AND v.version = p.version WHERE p.key >= ?`
	args := []any{prefix}
	if end, ok := paramKeyEnd(prefix); ok {
		q += ` AND p.key < ?`
		args = append(args, end)
	}
	q += ` ORDER BY p.key`
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list parameters under %q: %w", prefix, err)
	}
	defer rows.Close()
	var out []*Param
	for rows.Next() {
		p, err := scanParam(rows)
		if err != nil {
			return nil, fmt.Errorf("list parameters under %q: %w", prefix, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list parameters under %q: %w", prefix, err)
	}
	return out, nil
}

// paramKeyEnd returns the smallest string greater than every string that
// starts with prefix, or false when there is none (empty or all 0xff).
func paramKeyEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// PutParam writes a new version of the parameter with key. fn gets the
// latest version (nil when the parameter does not exist) and returns the
// version to write; Version is assigned here (latest + 1, or 1). The Name
// and Tags of what fn returns are stored only when the parameter is new.
// fn runs inside the write transaction, so its decision cannot race another
// writer; an error from fn is returned as it is and nothing changes.
func (db *DB) PutParam(ctx context.Context, key string, fn func(cur *Param) (*Param, error)) (*Param, error) {
	var out *Param
	err := db.tx(ctx, func(t *sql.Tx) error {
		cur, err := scanParam(t.QueryRowContext(ctx, `SELECT `+paramCols+` FROM params p
			JOIN param_versions v ON v.key = p.key AND v.version = p.version WHERE p.key = ?`, key))
		if errors.Is(err, sql.ErrNoRows) {
			cur, err = nil, nil
		}
		if err != nil {
			return fmt.Errorf("read parameter %s: %w", key, err)
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		next.Key = key
		if cur == nil {
			next.Version = 1
			tags, err := json.Marshal(paramTags(next.Tags))
			if err != nil {
				return fmt.Errorf("encode tags of parameter %s: %w", key, err)
			}
			if _, err := t.ExecContext(ctx, `INSERT INTO params (key, name, version, tags) VALUES (?, ?, 1, ?)`,
				key, next.Name, string(tags)); err != nil {
				return fmt.Errorf("create parameter %s: %w", key, err)
			}
		} else {
			next.Version = cur.Version + 1
			next.Name, next.Tags = cur.Name, cur.Tags
			if _, err := t.ExecContext(ctx, `UPDATE params SET version = ? WHERE key = ?`, next.Version, key); err != nil {
				return fmt.Errorf("update parameter %s: %w", key, err)
			}
		}
		if next.Value == nil {
			next.Value = []byte{}
		}
		_, err = t.ExecContext(ctx, `INSERT INTO param_versions (key, version, type, value, description, key_id,
			allowed_pattern, tier, data_type, modified, modified_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			key, next.Version, next.Type, next.Value, next.Description, next.KeyID,
			next.AllowedPattern, next.Tier, next.DataType, next.Modified.UnixMilli(), next.ModifiedUser)
		if err != nil {
			return fmt.Errorf("write version %d of parameter %s: %w", next.Version, key, err)
		}
		if _, err := t.ExecContext(ctx, `DELETE FROM param_versions WHERE key = ? AND version <= ?`,
			key, next.Version-MaxParamVersions); err != nil {
			return fmt.Errorf("drop old versions of parameter %s: %w", key, err)
		}
		out = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteParam deletes a parameter and all its versions. ErrNotFound when it
// does not exist.
func (db *DB) DeleteParam(ctx context.Context, key string) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		// Versions first: the write connection's foreign_keys pragma makes
		// the cascade work too, but this does not depend on it.
		if _, err := t.ExecContext(ctx, `DELETE FROM param_versions WHERE key = ?`, key); err != nil {
			return fmt.Errorf("delete parameter %s: %w", key, err)
		}
		res, err := t.ExecContext(ctx, `DELETE FROM params WHERE key = ?`, key)
		if err != nil {
			return fmt.Errorf("delete parameter %s: %w", key, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// paramTags returns tags, or an empty list for nil, so the column holds [].
func paramTags(tags []model.ParameterTag) []model.ParameterTag {
	if tags == nil {
		return []model.ParameterTag{}
	}
	return tags
}
