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

// schemaIAM holds IAM roles, users, their inline policies and managed
// policy attachments, customer managed policies and their versions, and
// the temporary credentials STS issues.
//
// Names of roles, users and managed policies are unique without regard to
// case, as in IAM, and are found the same way (COLLATE NOCASE). Inline
// policies and attachments belong to a principal by id (AROA… for roles,
// AIDA… for users), so one table serves both. Documents are stored as
// sent. IAM users' access keys live in access_keys beside the runner's own
// keys; user_id tells them apart ("" for the runner's). Secrets and session
// tokens are sealed by the caller.
const schemaIAM = `
CREATE TABLE iam_roles (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
	path        TEXT NOT NULL,
	trust       TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	max_session INTEGER NOT NULL,
	tags        TEXT NOT NULL DEFAULT '[]',
	created     INTEGER NOT NULL
) STRICT;
CREATE TABLE iam_users (
	id      TEXT PRIMARY KEY,
	name    TEXT NOT NULL UNIQUE COLLATE NOCASE,
	path    TEXT NOT NULL,
	tags    TEXT NOT NULL DEFAULT '[]',
	created INTEGER NOT NULL
) STRICT;
CREATE TABLE iam_inline_policies (
	principal TEXT NOT NULL,
	name      TEXT NOT NULL,
	document  TEXT NOT NULL,
	PRIMARY KEY (principal, name)
) STRICT;
CREATE TABLE iam_policies (
	id              TEXT PRIMARY KEY,
	arn             TEXT NOT NULL UNIQUE,
	name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
	path            TEXT NOT NULL,
	description     TEXT NOT NULL DEFAULT '',
	default_version INTEGER NOT NULL,
	next_version    INTEGER NOT NULL,
	tags            TEXT NOT NULL DEFAULT '[]',
	created         INTEGER NOT NULL,
	updated         INTEGER NOT NULL
) STRICT;
CREATE TABLE iam_policy_versions (
	policy   TEXT NOT NULL REFERENCES iam_policies(id) ON DELETE CASCADE,
	version  INTEGER NOT NULL,
	document TEXT NOT NULL,
	created  INTEGER NOT NULL,
	PRIMARY KEY (policy, version)
) STRICT;
CREATE TABLE iam_attachments (
	principal  TEXT NOT NULL,
	policy_arn TEXT NOT NULL,
	created    INTEGER NOT NULL,
	PRIMARY KEY (principal, policy_arn)
) STRICT;
CREATE INDEX iam_attachments_policy ON iam_attachments(policy_arn);
ALTER TABLE access_keys ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
CREATE INDEX access_keys_user_id ON access_keys(user_id);
CREATE TABLE sts_credentials (
	id            TEXT PRIMARY KEY,
	secret        BLOB NOT NULL,
	token         BLOB NOT NULL,
	role_arn      TEXT NOT NULL,
	role_id       TEXT NOT NULL,
	session_name  TEXT NOT NULL,
	source_arn    TEXT NOT NULL,
	policy        TEXT NOT NULL DEFAULT '',
	policy_arns   TEXT NOT NULL DEFAULT '[]',
	tags          TEXT NOT NULL DEFAULT '[]',
	created       INTEGER NOT NULL,
	expires       INTEGER NOT NULL
) STRICT;
CREATE INDEX sts_credentials_expires ON sts_credentials(expires);
`

// Errors of the IAM store besides ErrNotFound and ErrExists.
var (
	// ErrNoPrincipal: the role or user an operation names does not exist.
	ErrNoPrincipal = errors.New("no such role or user")
	// ErrHasAttachedPolicies, ErrHasInlinePolicies, ErrHasAccessKeys: a
	// role or user cannot be deleted while it has these.
	ErrHasAttachedPolicies = errors.New("managed policies are attached")
	ErrHasInlinePolicies   = errors.New("inline policies remain")
	ErrHasAccessKeys       = errors.New("access keys remain")
	// ErrLimit: the operation would pass a quota.
	ErrLimit = errors.New("quota exceeded")
	// ErrPolicyAttached: a managed policy cannot be deleted while attached.
	ErrPolicyAttached = errors.New("policy is attached")
	// ErrPolicyVersions: a managed policy cannot be deleted while it has
	// versions besides the default one.
	ErrPolicyVersions = errors.New("policy has non-default versions")
	// ErrDefaultVersion: the default version of a policy cannot be deleted.
	ErrDefaultVersion = errors.New("version is the default")
)

// PrincipalKind tells roles from users.
type PrincipalKind int

// The two kinds of principal that hold policies.
const (
	RolePrincipal PrincipalKind = iota
	UserPrincipal
)

func (k PrincipalKind) table() string {
	if k == UserPrincipal {
		return "iam_users"
	}
	return "iam_roles"
}

// IAMRole is a stored role. Trust is the trust policy as sent.
type IAMRole struct {
	ID          string
	Name        string
	Path        string
	Trust       string
	Description string
	MaxSession  int // seconds
	Tags        []model.IAMTag
	Created     time.Time
}

// IAMUser is a stored IAM user.
type IAMUser struct {
	ID      string
	Name    string
	Path    string
	Tags    []model.IAMTag
	Created time.Time
}

// InlinePolicy is an inline policy of a role or user.
type InlinePolicy struct {
	Name     string
	Document string
}

// Attachment is a managed policy attached to a role or user.
type Attachment struct {
	PolicyArn string
	Created   time.Time
}

// IAMPolicy is a customer managed policy. Attachments is filled by reads.
type IAMPolicy struct {
	ID             string
	Arn            string
	Name           string
	Path           string
	Description    string
	DefaultVersion int
	Tags           []model.IAMTag
	Created        time.Time
	Updated        time.Time
	Attachments    int
}

// IAMPolicyVersion is one version of a customer managed policy.
type IAMPolicyVersion struct {
	Version  int
	Document string
	Default  bool
	Created  time.Time
}

// IAMAccessKey is an access key of an IAM user; Secret is sealed. UserID is
// "" for the runner's own keys.
type IAMAccessKey struct {
	ID       string
	Secret   []byte
	UserName string
	UserID   string
	Status   string
	Created  time.Time
}

// TempCredential is a temporary access key STS issued for a role session.
// Secret and SessionToken are sealed.
type TempCredential struct {
	AccessKeyID  string
	Secret       []byte
	SessionToken []byte
	RoleArn      string
	RoleID       string
	SessionName  string
	// SourceArn is the principal that assumed the role (or the service,
	// e.g. "codebuild.amazonaws.com").
	SourceArn string
	// Policy and PolicyArns are the session policies, which narrow what
	// the role allows.
	Policy     string
	PolicyArns []string
	Tags       []model.IAMTag
	Created    time.Time
	Expires    time.Time
}

func marshalTags(tags []model.IAMTag) string {
	if tags == nil {
		tags = []model.IAMTag{}
	}
	b, _ := json.Marshal(tags) // strings only: cannot fail
	return string(b)
}

func unmarshalTags(s string) ([]model.IAMTag, error) {
	var tags []model.IAMTag
	if err := json.Unmarshal([]byte(s), &tags); err != nil {
		return nil, fmt.Errorf("decode tags: %w", err)
	}
	return tags, nil
}

// iamRow is a *sql.Row or *sql.Rows.
type iamRow interface{ Scan(dest ...any) error }

// iamQuerier is a *sql.DB or *sql.Tx.
type iamQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ---- roles ----

const roleCols = `id, name, path, trust, description, max_session, tags, created`

func scanRole(r iamRow) (*IAMRole, error) {
	var role IAMRole
	var tags string
	var created int64
	if err := r.Scan(&role.ID, &role.Name, &role.Path, &role.Trust, &role.Description, &role.MaxSession, &tags, &created); err != nil {
		return nil, err
	}
	role.Created = time.UnixMilli(created).UTC()
	var err error
	if role.Tags, err = unmarshalTags(tags); err != nil {
		return nil, fmt.Errorf("role %s: %w", role.Name, err)
	}
	return &role, nil
}

// CreateRole stores a new role; ErrExists if one of that name (in any
// case) exists.
func (db *DB) CreateRole(ctx context.Context, r IAMRole) error {
	err := db.tx(ctx, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO iam_roles(`+roleCols+`) VALUES(?,?,?,?,?,?,?,?)`,
			r.ID, r.Name, r.Path, r.Trust, r.Description, r.MaxSession, marshalTags(r.Tags), r.Created.UnixMilli())
		if isConstraint(err) {
			return ErrExists
		}
		return err
	})
	if err != nil && !errors.Is(err, ErrExists) {
		return fmt.Errorf("create role %s: %w", r.Name, err)
	}
	return err
}

// Role returns the role of a name (any case); ErrNotFound if none.
func (db *DB) Role(ctx context.Context, name string) (*IAMRole, error) {
	return getRole(ctx, db.r, name)
}

func getRole(ctx context.Context, q iamQuerier, name string) (*IAMRole, error) {
	r, err := scanRole(q.QueryRowContext(ctx, `SELECT `+roleCols+` FROM iam_roles WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read role %s: %w", name, err)
	}
	return r, nil
}

// Roles returns every role whose path starts with pathPrefix, by name
// without regard to case.
func (db *DB) Roles(ctx context.Context, pathPrefix string) ([]*IAMRole, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+roleCols+` FROM iam_roles
		WHERE substr(path, 1, length(?)) = ? ORDER BY name`, pathPrefix, pathPrefix)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	defer rows.Close()
	var out []*IAMRole
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, fmt.Errorf("list roles: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return out, nil
}

// UpdateRole changes a role in one transaction: fn gets the stored role
// and changes it in place (its id, name, path and creation time are kept);
// an error from fn aborts. ErrNotFound if there is no such role.
func (db *DB) UpdateRole(ctx context.Context, name string, fn func(*IAMRole) error) (*IAMRole, error) {
	var out *IAMRole
	err := db.tx(ctx, func(t *sql.Tx) error {
		r, err := getRole(ctx, t, name)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `UPDATE iam_roles SET trust = ?, description = ?, max_session = ?, tags = ? WHERE id = ?`,
			r.Trust, r.Description, r.MaxSession, marshalTags(r.Tags), r.ID)
		out = r
		return err
	})
	return out, err
}

// DeleteRole deletes a role that has no policies left: ErrNotFound,
// ErrHasAttachedPolicies or ErrHasInlinePolicies otherwise (in that order,
// as IAM checks).
func (db *DB) DeleteRole(ctx context.Context, name string) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		r, err := getRole(ctx, t, name)
		if err != nil {
			return err
		}
		if err := checkEmpty(ctx, t, r.ID, false); err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `DELETE FROM iam_roles WHERE id = ?`, r.ID)
		return err
	})
}

// checkEmpty fails when a principal still has attached policies, inline
// policies or (for users) access keys.
func checkEmpty(ctx context.Context, t *sql.Tx, id string, keys bool) error {
	checks := []struct {
		query string
		err   error
	}{
		{`SELECT count(*) FROM iam_attachments WHERE principal = ?`, ErrHasAttachedPolicies},
		{`SELECT count(*) FROM iam_inline_policies WHERE principal = ?`, ErrHasInlinePolicies},
	}
	if keys {
		checks = append(checks, struct {
			query string
			err   error
		}{`SELECT count(*) FROM access_keys WHERE user_id = ?`, ErrHasAccessKeys})
	}
	for _, c := range checks {
		var n int
		if err := t.QueryRowContext(ctx, c.query, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return c.err
		}
	}
	return nil
}

// ---- users ----

const userCols = `id, name, path, tags, created`

func scanUser(r iamRow) (*IAMUser, error) {
	var u IAMUser
	var tags string
	var created int64
	if err := r.Scan(&u.ID, &u.Name, &u.Path, &tags, &created); err != nil {
		return nil, err
	}
	u.Created = time.UnixMilli(created).UTC()
	var err error
	if u.Tags, err = unmarshalTags(tags); err != nil {
		return nil, fmt.Errorf("user %s: %w", u.Name, err)
	}
	return &u, nil
}

// CreateUser stores a new user; ErrExists if a user of that name (in any
// case) exists, or if the runner's own keys belong to that name, since
// those act as a user of it.
func (db *DB) CreateUser(ctx context.Context, u IAMUser) error {
	err := db.tx(ctx, func(t *sql.Tx) error {
		var n int
		if err := t.QueryRowContext(ctx, `SELECT count(*) FROM access_keys WHERE user_id = '' AND user = ? COLLATE NOCASE`, u.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrExists
		}
		_, err := t.ExecContext(ctx, `INSERT INTO iam_users(`+userCols+`) VALUES(?,?,?,?,?)`,
			u.ID, u.Name, u.Path, marshalTags(u.Tags), u.Created.UnixMilli())
		if isConstraint(err) {
			return ErrExists
		}
		return err
	})
	if err != nil && !errors.Is(err, ErrExists) {
		return fmt.Errorf("create user %s: %w", u.Name, err)
	}
	return err
}

// User returns the user of a name (any case); ErrNotFound if none.
func (db *DB) User(ctx context.Context, name string) (*IAMUser, error) {
	return getUser(ctx, db.r, name)
}

func getUser(ctx context.Context, q iamQuerier, name string) (*IAMUser, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM iam_users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read user %s: %w", name, err)
	}
	return u, nil
}

// Users returns every user whose path starts with pathPrefix, by name.
func (db *DB) Users(ctx context.Context, pathPrefix string) ([]*IAMUser, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+userCols+` FROM iam_users
		WHERE substr(path, 1, length(?)) = ? ORDER BY name`, pathPrefix, pathPrefix)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []*IAMUser
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// DeleteUser deletes a user with no policies or access keys left:
// ErrNotFound, ErrHasAttachedPolicies, ErrHasInlinePolicies or
// ErrHasAccessKeys otherwise.
func (db *DB) DeleteUser(ctx context.Context, name string) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		u, err := getUser(ctx, t, name)
		if err != nil {
			return err
		}
		if err := checkEmpty(ctx, t, u.ID, true); err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `DELETE FROM iam_users WHERE id = ?`, u.ID)
		return err
	})
}

// principalID returns the id of a role or user by name; ErrNoPrincipal if
// there is none.
func principalID(ctx context.Context, q iamQuerier, kind PrincipalKind, name string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM `+kind.table()+` WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNoPrincipal
	}
	return id, err
}

// ---- inline policies ----

// PutInlinePolicy creates or replaces an inline policy of a role or user.
// check, if set, sees the principal's other inline policies inside the
// transaction and may refuse (its error is returned). ErrNoPrincipal if the
// role or user does not exist.
func (db *DB) PutInlinePolicy(ctx context.Context, kind PrincipalKind, principal, name, doc string, check func(others []InlinePolicy) error) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		id, err := principalID(ctx, t, kind, principal)
		if err != nil {
			return err
		}
		if check != nil {
			others, err := inlinePolicies(ctx, t, id)
			if err != nil {
				return err
			}
			kept := others[:0]
			for _, o := range others {
				if o.Name != name {
					kept = append(kept, o)
				}
			}
			if err := check(kept); err != nil {
				return err
			}
		}
		_, err = t.ExecContext(ctx, `INSERT INTO iam_inline_policies(principal, name, document) VALUES(?,?,?)
			ON CONFLICT(principal, name) DO UPDATE SET document = excluded.document`, id, name, doc)
		return err
	})
}

// InlinePolicy returns the document of an inline policy: ErrNoPrincipal or
// ErrNotFound.
func (db *DB) InlinePolicy(ctx context.Context, kind PrincipalKind, principal, name string) (string, error) {
	id, err := principalID(ctx, db.r, kind, principal)
	if err != nil {
		return "", err
	}
	var doc string
	err = db.r.QueryRowContext(ctx, `SELECT document FROM iam_inline_policies WHERE principal = ? AND name = ?`, id, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read policy %s of %s: %w", name, principal, err)
	}
	return doc, nil
}

// InlinePolicies returns every inline policy of a role or user, by name;
// ErrNoPrincipal if it does not exist.
func (db *DB) InlinePolicies(ctx context.Context, kind PrincipalKind, principal string) ([]InlinePolicy, error) {
	id, err := principalID(ctx, db.r, kind, principal)
	if err != nil {
		return nil, err
	}
	return inlinePolicies(ctx, db.r, id)
}

func inlinePolicies(ctx context.Context, q iamQuerier, id string) ([]InlinePolicy, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, document FROM iam_inline_policies WHERE principal = ? ORDER BY name`, id)
	if err != nil {
		return nil, fmt.Errorf("list inline policies: %w", err)
	}
	defer rows.Close()
	var out []InlinePolicy
	for rows.Next() {
		var p InlinePolicy
		if err := rows.Scan(&p.Name, &p.Document); err != nil {
			return nil, fmt.Errorf("list inline policies: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeleteInlinePolicy deletes an inline policy: ErrNoPrincipal or
// ErrNotFound.
func (db *DB) DeleteInlinePolicy(ctx context.Context, kind PrincipalKind, principal, name string) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		id, err := principalID(ctx, t, kind, principal)
		if err != nil {
			return err
		}
		res, err := t.ExecContext(ctx, `DELETE FROM iam_inline_policies WHERE principal = ? AND name = ?`, id, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// ---- attachments ----

// AttachPolicy attaches a managed policy to a role or user; attaching it
// again changes nothing. customer says the ARN names a customer managed
// policy, which must then exist (ErrNotFound); AWS managed policies are the
// caller's to check. ErrNoPrincipal if the role or user does not exist,
// ErrLimit if it already has limit policies attached.
func (db *DB) AttachPolicy(ctx context.Context, kind PrincipalKind, principal, policyArn string, customer bool, limit int, now time.Time) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		id, err := principalID(ctx, t, kind, principal)
		if err != nil {
			return err
		}
		if customer {
			var n int
			if err := t.QueryRowContext(ctx, `SELECT count(*) FROM iam_policies WHERE arn = ?`, policyArn).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return ErrNotFound
			}
		}
		var attached, already int
		err = t.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(policy_arn = ?), 0) FROM iam_attachments WHERE principal = ?`,
			policyArn, id).Scan(&attached, &already)
		if err != nil {
			return err
		}
		if already > 0 {
			return nil
		}
		if limit > 0 && attached >= limit {
			return ErrLimit
		}
		_, err = t.ExecContext(ctx, `INSERT INTO iam_attachments(principal, policy_arn, created) VALUES(?,?,?)`, id, policyArn, now.UnixMilli())
		return err
	})
}

// DetachPolicy detaches a managed policy: ErrNoPrincipal, or ErrNotFound
// if it is not attached.
func (db *DB) DetachPolicy(ctx context.Context, kind PrincipalKind, principal, policyArn string) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		id, err := principalID(ctx, t, kind, principal)
		if err != nil {
			return err
		}
		res, err := t.ExecContext(ctx, `DELETE FROM iam_attachments WHERE principal = ? AND policy_arn = ?`, id, policyArn)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// AttachedPolicies returns the managed policies attached to a role or
// user, in the order they were attached; ErrNoPrincipal if it does not
// exist.
func (db *DB) AttachedPolicies(ctx context.Context, kind PrincipalKind, principal string) ([]Attachment, error) {
	id, err := principalID(ctx, db.r, kind, principal)
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT policy_arn, created FROM iam_attachments WHERE principal = ? ORDER BY rowid`, id)
	if err != nil {
		return nil, fmt.Errorf("list attached policies of %s: %w", principal, err)
	}
	defer rows.Close()
	var out []Attachment
	for rows.Next() {
		var a Attachment
		var created int64
		if err := rows.Scan(&a.PolicyArn, &created); err != nil {
			return nil, fmt.Errorf("list attached policies of %s: %w", principal, err)
		}
		a.Created = time.UnixMilli(created).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// AttachmentCounts returns how many roles and users each attached managed
// policy is attached to.
func (db *DB) AttachmentCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT policy_arn, count(*) FROM iam_attachments GROUP BY policy_arn`)
	if err != nil {
		return nil, fmt.Errorf("count attachments: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var arn string
		var n int
		if err := rows.Scan(&arn, &n); err != nil {
			return nil, fmt.Errorf("count attachments: %w", err)
		}
		out[arn] = n
	}
	return out, rows.Err()
}

// ---- customer managed policies ----

const policyCols = `p.id, p.arn, p.name, p.path, p.description, p.default_version, p.tags, p.created, p.updated,
	(SELECT count(*) FROM iam_attachments a WHERE a.policy_arn = p.arn)`

func scanPolicy(r iamRow) (*IAMPolicy, error) {
	var p IAMPolicy
	var tags string
	var created, updated int64
	if err := r.Scan(&p.ID, &p.Arn, &p.Name, &p.Path, &p.Description, &p.DefaultVersion, &tags, &created, &updated, &p.Attachments); err != nil {
		return nil, err
	}
	p.Created, p.Updated = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	var err error
	if p.Tags, err = unmarshalTags(tags); err != nil {
		return nil, fmt.Errorf("policy %s: %w", p.Name, err)
	}
	return &p, nil
}

// CreatePolicy stores a customer managed policy with doc as version 1;
// ErrExists if a policy of that name (in any case, any path) exists.
func (db *DB) CreatePolicy(ctx context.Context, p IAMPolicy, doc string) error {
	err := db.tx(ctx, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO iam_policies(id, arn, name, path, description, default_version, next_version, tags, created, updated)
			VALUES(?,?,?,?,?,1,2,?,?,?)`, p.ID, p.Arn, p.Name, p.Path, p.Description, marshalTags(p.Tags), p.Created.UnixMilli(), p.Created.UnixMilli())
		if isConstraint(err) {
			return ErrExists
		}
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `INSERT INTO iam_policy_versions(policy, version, document, created) VALUES(?,1,?,?)`, p.ID, doc, p.Created.UnixMilli())
		return err
	})
	if err != nil && !errors.Is(err, ErrExists) {
		return fmt.Errorf("create policy %s: %w", p.Name, err)
	}
	return err
}

// Policy returns a customer managed policy by ARN; ErrNotFound if none.
func (db *DB) Policy(ctx context.Context, arn string) (*IAMPolicy, error) {
	return getPolicy(ctx, db.r, arn)
}

func getPolicy(ctx context.Context, q iamQuerier, arn string) (*IAMPolicy, error) {
	p, err := scanPolicy(q.QueryRowContext(ctx, `SELECT `+policyCols+` FROM iam_policies p WHERE p.arn = ?`, arn))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w", arn, err)
	}
	return p, nil
}

// Policies returns every customer managed policy, by name.
func (db *DB) Policies(ctx context.Context) ([]*IAMPolicy, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+policyCols+` FROM iam_policies p ORDER BY p.name`)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	defer rows.Close()
	var out []*IAMPolicy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("list policies: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeletePolicy deletes a customer managed policy and its default version:
// ErrNotFound, ErrPolicyAttached or ErrPolicyVersions otherwise.
func (db *DB) DeletePolicy(ctx context.Context, arn string) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		p, err := getPolicy(ctx, t, arn)
		if err != nil {
			return err
		}
		if p.Attachments > 0 {
			return ErrPolicyAttached
		}
		var n int
		if err := t.QueryRowContext(ctx, `SELECT count(*) FROM iam_policy_versions WHERE policy = ?`, p.ID).Scan(&n); err != nil {
			return err
		}
		if n > 1 {
			return ErrPolicyVersions
		}
		_, err = t.ExecContext(ctx, `DELETE FROM iam_policies WHERE id = ?`, p.ID)
		return err
	})
}

// PolicyVersion returns a version of a customer managed policy (the
// default one when version is 0): ErrNotFound if either is missing.
func (db *DB) PolicyVersion(ctx context.Context, arn string, version int) (*IAMPolicyVersion, error) {
	var v IAMPolicyVersion
	var created int64
	err := db.r.QueryRowContext(ctx, `SELECT v.version, v.document, v.version = p.default_version, v.created
		FROM iam_policies p JOIN iam_policy_versions v ON v.policy = p.id
		WHERE p.arn = ? AND v.version = CASE WHEN ? = 0 THEN p.default_version ELSE ? END`, arn, version, version).
		Scan(&v.Version, &v.Document, &v.Default, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read version %d of policy %s: %w", version, arn, err)
	}
	v.Created = time.UnixMilli(created).UTC()
	return &v, nil
}

// PolicyVersions returns the versions of a customer managed policy, newest
// first, without documents; ErrNotFound if the policy does not exist.
func (db *DB) PolicyVersions(ctx context.Context, arn string) ([]IAMPolicyVersion, error) {
	p, err := db.Policy(ctx, arn)
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT version, created FROM iam_policy_versions WHERE policy = ? ORDER BY version DESC`, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list versions of policy %s: %w", arn, err)
	}
	defer rows.Close()
	var out []IAMPolicyVersion
	for rows.Next() {
		var v IAMPolicyVersion
		var created int64
		if err := rows.Scan(&v.Version, &created); err != nil {
			return nil, fmt.Errorf("list versions of policy %s: %w", arn, err)
		}
		v.Created, v.Default = time.UnixMilli(created).UTC(), v.Version == p.DefaultVersion
		out = append(out, v)
	}
	return out, rows.Err()
}

// CreatePolicyVersion adds a version to a customer managed policy, making
// it the default when setDefault. ErrNotFound if the policy does not
// exist, ErrLimit if it already has max versions.
func (db *DB) CreatePolicyVersion(ctx context.Context, arn, doc string, setDefault bool, max int, now time.Time) (*IAMPolicyVersion, error) {
	var out *IAMPolicyVersion
	err := db.tx(ctx, func(t *sql.Tx) error {
		var id string
		var next int
		err := t.QueryRowContext(ctx, `SELECT id, next_version FROM iam_policies WHERE arn = ?`, arn).Scan(&id, &next)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var n int
		if err := t.QueryRowContext(ctx, `SELECT count(*) FROM iam_policy_versions WHERE policy = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return ErrLimit
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO iam_policy_versions(policy, version, document, created) VALUES(?,?,?,?)`,
			id, next, doc, now.UnixMilli()); err != nil {
			return err
		}
		q, args := `UPDATE iam_policies SET next_version = next_version + 1 WHERE id = ?`, []any{id}
		if setDefault {
			q, args = `UPDATE iam_policies SET next_version = next_version + 1, default_version = ?, updated = ? WHERE id = ?`,
				[]any{next, now.UnixMilli(), id}
		}
		if _, err := t.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		out = &IAMPolicyVersion{Version: next, Document: doc, Default: setDefault, Created: now.UTC()}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrLimit) {
		return nil, fmt.Errorf("create version of policy %s: %w", arn, err)
	}
	return out, err
}

// DeletePolicyVersion deletes a non-default version: ErrNotFound or
// ErrDefaultVersion.
func (db *DB) DeletePolicyVersion(ctx context.Context, arn string, version int) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		var id string
		var def int
		err := t.QueryRowContext(ctx, `SELECT id, default_version FROM iam_policies WHERE arn = ?`, arn).Scan(&id, &def)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if version == def {
			return ErrDefaultVersion
		}
		res, err := t.ExecContext(ctx, `DELETE FROM iam_policy_versions WHERE policy = ? AND version = ?`, id, version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// SetDefaultPolicyVersion makes version the default: ErrNotFound if the
// policy or version does not exist.
func (db *DB) SetDefaultPolicyVersion(ctx context.Context, arn string, version int, now time.Time) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `UPDATE iam_policies SET default_version = ?, updated = ?
			WHERE arn = ? AND EXISTS (SELECT 1 FROM iam_policy_versions v WHERE v.policy = iam_policies.id AND v.version = ?)`,
			version, now.UnixMilli(), arn, version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// ---- access keys of IAM users ----

const keyCols = `id, secret, user, user_id, status, created`

func scanKey(r iamRow) (IAMAccessKey, error) {
	var k IAMAccessKey
	var created int64
	err := r.Scan(&k.ID, &k.Secret, &k.UserName, &k.UserID, &k.Status, &created)
	k.Created = time.UnixMilli(created).UTC()
	return k, err
}

// CreateUserAccessKey stores a new access key for an IAM user (k.ID,
// k.Secret, k.Status and k.Created set by the caller); it fills in the
// user's name and id. ErrNoPrincipal if the user does not exist, ErrLimit
// if it already has limit keys.
func (db *DB) CreateUserAccessKey(ctx context.Context, userName string, k IAMAccessKey, limit int) (IAMAccessKey, error) {
	err := db.tx(ctx, func(t *sql.Tx) error {
		u, err := getUser(ctx, t, userName)
		if errors.Is(err, ErrNotFound) {
			return ErrNoPrincipal
		}
		if err != nil {
			return err
		}
		var n int
		if err := t.QueryRowContext(ctx, `SELECT count(*) FROM access_keys WHERE user_id = ?`, u.ID).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return ErrLimit
		}
		k.UserName, k.UserID = u.Name, u.ID
		_, err = t.ExecContext(ctx, `INSERT INTO access_keys(`+keyCols+`) VALUES(?,?,?,?,?,?)`,
			k.ID, k.Secret, k.UserName, k.UserID, k.Status, k.Created.UnixMilli())
		if isConstraint(err) {
			return ErrExists
		}
		return err
	})
	if err != nil && !errors.Is(err, ErrNoPrincipal) && !errors.Is(err, ErrLimit) {
		return k, fmt.Errorf("create access key for %s: %w", userName, err)
	}
	return k, err
}

// IAMAccessKey returns any stored access key (the runner's own too, with
// UserID ""); ErrNotFound if none.
func (db *DB) IAMAccessKey(ctx context.Context, id string) (IAMAccessKey, error) {
	k, err := scanKey(db.r.QueryRowContext(ctx, `SELECT `+keyCols+` FROM access_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, ErrNotFound
	}
	if err != nil {
		return k, fmt.Errorf("read access key %s: %w", id, err)
	}
	return k, nil
}

// UserAccessKeys returns the access keys of a user, oldest first: an IAM
// user by its id, or (userID "") the runner's own keys of userName.
func (db *DB) UserAccessKeys(ctx context.Context, userID, userName string) ([]IAMAccessKey, error) {
	q, arg := `SELECT `+keyCols+` FROM access_keys WHERE user_id = ? ORDER BY created, rowid`, userID
	if userID == "" {
		q, arg = `SELECT `+keyCols+` FROM access_keys WHERE user_id = '' AND user = ? COLLATE NOCASE ORDER BY created, rowid`, userName
	}
	rows, err := db.r.QueryContext(ctx, q, arg)
	if err != nil {
		return nil, fmt.Errorf("list access keys of %s: %w", userName, err)
	}
	defer rows.Close()
	var out []IAMAccessKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list access keys of %s: %w", userName, err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeleteUserAccessKey deletes an IAM user's access key; ErrNotFound unless
// the key exists and belongs to userID (never the runner's keys).
func (db *DB) DeleteUserAccessKey(ctx context.Context, userID, keyID string) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `DELETE FROM access_keys WHERE id = ? AND user_id = ? AND user_id != ''`, keyID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// SetUserAccessKeyStatus sets an IAM user's access key Active or Inactive;
// ErrNotFound as DeleteUserAccessKey.
func (db *DB) SetUserAccessKeyStatus(ctx context.Context, userID, keyID, status string) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `UPDATE access_keys SET status = ? WHERE id = ? AND user_id = ? AND user_id != ''`, status, keyID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// ---- temporary credentials ----

const tempCols = `id, secret, token, role_arn, role_id, session_name, source_arn, policy, policy_arns, tags, created, expires`

// PutTempCredential stores temporary credentials.
func (db *DB) PutTempCredential(ctx context.Context, c TempCredential) error {
	arns, _ := json.Marshal(append([]string{}, c.PolicyArns...)) // strings only
	return db.tx(ctx, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO sts_credentials(`+tempCols+`) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`,
			c.AccessKeyID, c.Secret, c.SessionToken, c.RoleArn, c.RoleID, c.SessionName, c.SourceArn, c.Policy,
			string(arns), marshalTags(c.Tags), c.Created.UnixMilli(), c.Expires.UnixMilli())
		if isConstraint(err) {
			return ErrExists
		}
		if err != nil {
			return fmt.Errorf("store credentials %s: %w", c.AccessKeyID, err)
		}
		return nil
	})
}

// TempCredential returns temporary credentials by access key id, expired
// ones included (until purged) so that callers can tell expired from
// unknown; ErrNotFound if none.
func (db *DB) TempCredential(ctx context.Context, id string) (*TempCredential, error) {
	var c TempCredential
	var arns, tags string
	var created, expires int64
	err := db.r.QueryRowContext(ctx, `SELECT `+tempCols+` FROM sts_credentials WHERE id = ?`, id).Scan(
		&c.AccessKeyID, &c.Secret, &c.SessionToken, &c.RoleArn, &c.RoleID, &c.SessionName, &c.SourceArn, &c.Policy,
		&arns, &tags, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read credentials %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(arns), &c.PolicyArns); err != nil {
		return nil, fmt.Errorf("credentials %s: decode policy ARNs: %w", id, err)
	}
	if c.Tags, err = unmarshalTags(tags); err != nil {
		return nil, fmt.Errorf("credentials %s: %w", id, err)
	}
	c.Created, c.Expires = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	return &c, nil
}

// DeleteTempCredential removes temporary credentials before they expire
// (a build that ended); ErrNotFound if there are none.
func (db *DB) DeleteTempCredential(ctx context.Context, id string) error {
	return db.tx(ctx, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `DELETE FROM sts_credentials WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// PurgeTempCredentials deletes temporary credentials that expired before
// before and returns how many.
func (db *DB) PurgeTempCredentials(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `DELETE FROM sts_credentials WHERE expires < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purge expired credentials: %w", err)
	}
	return n, nil
}
