package store

import (
	"context"
	"database/sql"
	"errors"
)

// schemaKeys holds API access keys. Secrets are stored sealed (encrypted
// by the caller), never in the clear.
const schemaKeys = `
CREATE TABLE access_keys (
	id      TEXT PRIMARY KEY,
	secret  BLOB NOT NULL,
	user    TEXT NOT NULL,
	status  TEXT NOT NULL DEFAULT 'Active',
	created INTEGER NOT NULL
) STRICT;
`

// AccessKey is a stored access key; Secret is sealed.
type AccessKey struct {
	ID      string
	Secret  []byte
	User    string
	Status  string
	Created int64 // unix ms
}

// PutAccessKey stores a new access key.
func (db *DB) PutAccessKey(ctx context.Context, k AccessKey) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO access_keys(id, secret, user, status, created) VALUES(?,?,?,?,?)`,
			k.ID, k.Secret, k.User, k.Status, k.Created)
		if isConstraint(err) {
			return ErrExists
		}
		return err
	})
}

// AccessKeyByID returns one access key.
func (db *DB) AccessKeyByID(ctx context.Context, id string) (AccessKey, error) {
	var k AccessKey
	err := db.r.QueryRowContext(ctx, `SELECT id, secret, user, status, created FROM access_keys WHERE id = ?`, id).
		Scan(&k.ID, &k.Secret, &k.User, &k.Status, &k.Created)
	if errors.Is(err, sql.ErrNoRows) {
		return k, ErrNotFound
	}
	return k, err
}

// AccessKeys returns the access keys of a user ("" for all).
func (db *DB) AccessKeys(ctx context.Context, user string) ([]AccessKey, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, secret, user, status, created FROM access_keys WHERE ? = '' OR user = ? ORDER BY created`, user, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AccessKey
	for rows.Next() {
		var k AccessKey
		if err := rows.Scan(&k.ID, &k.Secret, &k.User, &k.Status, &k.Created); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeleteAccessKey removes an access key; ErrNotFound if it does not exist.
func (db *DB) DeleteAccessKey(ctx context.Context, id string) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `DELETE FROM access_keys WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}
