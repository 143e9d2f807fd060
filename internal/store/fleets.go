package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// schemaFleets holds CodeBuild fleets, as the API object in body.
const schemaFleets = `
CREATE TABLE fleets (
	name     TEXT PRIMARY KEY,
	arn      TEXT NOT NULL UNIQUE,
	created  INTEGER NOT NULL,
	modified INTEGER NOT NULL,
	body     TEXT NOT NULL
) STRICT;
`

// FleetRow is a stored fleet.
type FleetRow struct {
	Name     string
	Arn      string
	Created  int64 // unix ms
	Modified int64 // unix ms
	Body     []byte
}

// CreateFleet stores a new fleet; ErrExists if the name is taken.
func (db *DB) CreateFleet(ctx context.Context, f FleetRow) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO fleets(name, arn, created, modified, body) VALUES(?,?,?,?,?)`,
			f.Name, f.Arn, f.Created, f.Modified, string(f.Body))
		if isConstraint(err) {
			return ErrExists
		}
		return err
	})
}

// UpdateFleet replaces a fleet's body with what fn makes of the current one,
// in one transaction; ErrNotFound if no fleet has that name.
func (db *DB) UpdateFleet(ctx context.Context, name string, fn func(cur FleetRow) (FleetRow, error)) (FleetRow, error) {
	var out FleetRow
	err := db.tx(ctx, func(t *sql.Tx) error {
		cur, err := scanFleet(t.QueryRowContext(ctx, `SELECT name, arn, created, modified, body FROM fleets WHERE name = ?`, name))
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `UPDATE fleets SET modified = ?, body = ? WHERE name = ?`, next.Modified, string(next.Body), name)
		out = next
		return err
	})
	return out, err
}

// Fleet returns a fleet by name or ARN.
func (db *DB) Fleet(ctx context.Context, nameOrArn string) (FleetRow, error) {
	return scanFleet(db.r.QueryRowContext(ctx, `SELECT name, arn, created, modified, body FROM fleets WHERE name = ? OR arn = ?`, nameOrArn, nameOrArn))
}

// Fleets returns every fleet, in the given order.
func (db *DB) Fleets(ctx context.Context, order ProjectOrder) ([]FleetRow, error) {
	col := "name"
	switch order.By {
	case "CREATED_TIME":
		col = "created"
	case "LAST_MODIFIED_TIME":
		col = "modified"
	}
	dir := "ASC"
	if order.Desc {
		dir = "DESC"
	}
	rows, err := db.r.QueryContext(ctx, fmt.Sprintf(`SELECT name, arn, created, modified, body FROM fleets ORDER BY %s %s, name %s`, col, dir, dir))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FleetRow
	for rows.Next() {
		var f FleetRow
		var body string
		if err := rows.Scan(&f.Name, &f.Arn, &f.Created, &f.Modified, &body); err != nil {
			return nil, err
		}
		f.Body = []byte(body)
		out = append(out, f)
	}
	return out, rows.Err()
}

// DeleteFleet removes a fleet by ARN; a missing one is not an error.
func (db *DB) DeleteFleet(ctx context.Context, arn string) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `DELETE FROM fleets WHERE arn = ?`, arn)
		return err
	})
}

func scanFleet(row *sql.Row) (FleetRow, error) {
	var f FleetRow
	var body string
	err := row.Scan(&f.Name, &f.Arn, &f.Created, &f.Modified, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrNotFound
	}
	f.Body = []byte(body)
	return f, err
}
