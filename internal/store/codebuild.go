package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// schemaCodeBuild holds projects and builds. Each row keeps the API object as
// JSON (body) beside the columns that queries filter and sort on.
const schemaCodeBuild = `
CREATE TABLE projects (
	name     TEXT PRIMARY KEY,
	created  INTEGER NOT NULL,
	modified INTEGER NOT NULL,
	body     TEXT NOT NULL
) STRICT;
CREATE TABLE build_numbers (
	project TEXT PRIMARY KEY,
	last    INTEGER NOT NULL
) STRICT;
CREATE TABLE builds (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	id       TEXT NOT NULL UNIQUE,
	project  TEXT NOT NULL,
	number   INTEGER NOT NULL,
	complete INTEGER NOT NULL DEFAULT 0,
	body     TEXT NOT NULL,
	plan     TEXT NOT NULL DEFAULT '{}',
	token    TEXT
) STRICT;
CREATE INDEX builds_project ON builds(project, number);
CREATE INDEX builds_open ON builds(complete) WHERE complete = 0;
CREATE INDEX builds_token ON builds(project, token) WHERE token IS NOT NULL;
`

// ProjectRow is a stored project.
type ProjectRow struct {
	Name     string
	Created  int64 // unix ms
	Modified int64 // unix ms
	Body     []byte
}

// CreateProject stores a new project; ErrExists if the name is taken.
func (db *DB) CreateProject(ctx context.Context, p ProjectRow) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO projects(name, created, modified, body) VALUES(?,?,?,?)`,
			p.Name, p.Created, p.Modified, string(p.Body))
		if isConstraint(err) {
			return ErrExists
		}
		return err
	})
}

// UpdateProject replaces a project's body with what fn returns from the
// current one, in one transaction; ErrNotFound if it does not exist.
func (db *DB) UpdateProject(ctx context.Context, name string, fn func(cur ProjectRow) (ProjectRow, error)) (ProjectRow, error) {
	var out ProjectRow
	err := db.tx(ctx, func(t *sql.Tx) error {
		cur, err := scanProject(t.QueryRowContext(ctx, `SELECT name, created, modified, body FROM projects WHERE name = ?`, name))
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `UPDATE projects SET modified = ?, body = ? WHERE name = ?`, next.Modified, string(next.Body), name)
		out = next
		return err
	})
	return out, err
}

// Project returns one project.
func (db *DB) Project(ctx context.Context, name string) (ProjectRow, error) {
	return scanProject(db.r.QueryRowContext(ctx, `SELECT name, created, modified, body FROM projects WHERE name = ?`, name))
}

// ProjectOrder is a sort order for ListProjects.
type ProjectOrder struct {
	By   string // NAME, CREATED_TIME or LAST_MODIFIED_TIME
	Desc bool
}

// ListProjects returns project names in the given order, at most limit of
// them, starting after the first skip.
func (db *DB) ListProjects(ctx context.Context, order ProjectOrder, skip, limit int) ([]string, error) {
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
	rows, err := db.r.QueryContext(ctx, fmt.Sprintf(`SELECT name FROM projects ORDER BY %s %s, name %s LIMIT ? OFFSET ?`, col, dir, dir), limit, skip)
	if err != nil {
		return nil, err
	}
	return scanStrings(rows)
}

// DeleteProject removes a project and its finished builds. Missing projects
// are not an error (CodeBuild's DeleteProject is idempotent). Builds still
// running are left to finish; while any is left, the project's build
// numbers are kept too, so a project made again under the name never
// reuses their numbers.
func (db *DB) DeleteProject(ctx context.Context, name string) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		if _, err := t.ExecContext(ctx, `DELETE FROM projects WHERE name = ?`, name); err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `DELETE FROM builds WHERE project = ? AND complete = 1`, name); err != nil {
			return err
		}
		_, err := t.ExecContext(ctx, `DELETE FROM build_numbers WHERE project = ? AND NOT EXISTS (SELECT 1 FROM builds WHERE project = ?)`, name, name)
		return err
	})
}

func scanProject(row *sql.Row) (ProjectRow, error) {
	var p ProjectRow
	var body string
	err := row.Scan(&p.Name, &p.Created, &p.Modified, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	p.Body = []byte(body)
	return p, err
}

// BuildRow is a stored build. Body is the API's Build object as JSON; Plan is
// the runner's private view of it (never shown to clients).
type BuildRow struct {
	ID       string
	Project  string
	Number   int64
	Complete bool
	Body     []byte
	Plan     []byte
	Token    string
}

// InsertBuild stores a new build, giving it the project's next build number:
// make is called inside the transaction with that number and returns the row.
// Build numbers are never reused, even after builds are deleted.
func (db *DB) InsertBuild(ctx context.Context, project string, make func(number int64) (BuildRow, error)) (BuildRow, error) {
	var out BuildRow
	err := db.tx(ctx, func(t *sql.Tx) error {
		var n int64
		err := t.QueryRowContext(ctx, `INSERT INTO build_numbers(project, last) VALUES(?, 1)
			ON CONFLICT(project) DO UPDATE SET last = last + 1 RETURNING last`, project).Scan(&n)
		if err != nil {
			return err
		}
		b, err := make(n)
		if err != nil {
			return err
		}
		var token any
		if b.Token != "" {
			token = b.Token
		}
		_, err = t.ExecContext(ctx, `INSERT INTO builds(id, project, number, complete, body, plan, token) VALUES(?,?,?,?,?,?,?)`,
			b.ID, project, n, b.Complete, string(b.Body), string(b.Plan), token)
		b.Number = n
		out = b
		return err
	})
	return out, err
}

// SaveBuild writes a build's current body (and completion).
func (db *DB) SaveBuild(ctx context.Context, id string, body []byte, complete bool) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `UPDATE builds SET body = ?, complete = ? WHERE id = ?`, string(body), complete, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

const buildCols = `id, project, number, complete, body, plan, COALESCE(token, '')`

// Build returns one build.
func (db *DB) Build(ctx context.Context, id string) (BuildRow, error) {
	return db.firstBuild(ctx, `SELECT `+buildCols+` FROM builds WHERE id = ?`, id)
}

// firstBuild returns the first build query (over buildCols) finds, or
// ErrNotFound.
func (db *DB) firstBuild(ctx context.Context, query string, args ...any) (BuildRow, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return BuildRow{}, err
	}
	bs, err := scanBuilds(rows)
	if err != nil {
		return BuildRow{}, err
	}
	if len(bs) == 0 {
		return BuildRow{}, ErrNotFound
	}
	return bs[0], nil
}

// BuildBodies returns the bodies of the builds with the given ids, keyed by
// id; missing ids are absent.
func (db *DB) BuildBodies(ctx context.Context, ids []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, body FROM builds WHERE id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, body string
		if err := rows.Scan(&id, &body); err != nil {
			return nil, err
		}
		out[id] = []byte(body)
	}
	return out, rows.Err()
}

// BuildByToken returns the newest build of project started with an
// idempotency token.
func (db *DB) BuildByToken(ctx context.Context, project, token string) (BuildRow, error) {
	return db.firstBuild(ctx, `SELECT `+buildCols+` FROM builds WHERE project = ? AND token = ? ORDER BY seq DESC LIMIT 1`, project, token)
}

// OpenBuilds returns every build not yet complete, oldest first.
func (db *DB) OpenBuilds(ctx context.Context) ([]BuildRow, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+buildCols+` FROM builds WHERE complete = 0 ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	return scanBuilds(rows)
}

// ListBuildIDs returns build ids of all projects (project == "") or of one,
// newest first unless asc, at most limit after skip. For one project the
// order is by build number, as ListBuildsForProject sorts.
func (db *DB) ListBuildIDs(ctx context.Context, project string, asc bool, skip, limit int) ([]string, error) {
	dir := "DESC"
	if asc {
		dir = "ASC"
	}
	var rows *sql.Rows
	var err error
	if project == "" {
		rows, err = db.r.QueryContext(ctx, `SELECT id FROM builds ORDER BY seq `+dir+` LIMIT ? OFFSET ?`, limit, skip)
	} else {
		rows, err = db.r.QueryContext(ctx, `SELECT id FROM builds WHERE project = ? ORDER BY number `+dir+` LIMIT ? OFFSET ?`, project, limit, skip)
	}
	if err != nil {
		return nil, err
	}
	return scanStrings(rows)
}

// DeleteBuild removes a completed build; it reports whether the build
// existed and whether it was complete (running builds are not deleted).
func (db *DB) DeleteBuild(ctx context.Context, id string) (existed, deleted bool, err error) {
	err = db.tx(ctx, func(t *sql.Tx) error {
		var complete bool
		err := t.QueryRowContext(ctx, `SELECT complete FROM builds WHERE id = ?`, id).Scan(&complete)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		existed = true
		if !complete {
			return nil
		}
		_, err = t.ExecContext(ctx, `DELETE FROM builds WHERE id = ?`, id)
		deleted = err == nil
		return err
	})
	return existed, deleted, err
}

func scanBuilds(rows *sql.Rows) ([]BuildRow, error) {
	defer rows.Close()
	var out []BuildRow
	for rows.Next() {
		var b BuildRow
		var body, plan string
		if err := rows.Scan(&b.ID, &b.Project, &b.Number, &b.Complete, &body, &plan, &b.Token); err != nil {
			return nil, err
		}
		b.Body, b.Plan = []byte(body), []byte(plan)
		out = append(out, b)
	}
	return out, rows.Err()
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
