package store

import (
	"context"
	"database/sql"
	"fmt"
)

// DeleteTempCredentialsFrom deletes every temporary credential issued to
// source (the principal or service that assumed the role) and returns how
// many. At startup no build runs, so sessions issued to builds
// ("codebuild.amazonaws.com") are all left over from a runner that
// stopped without revoking them.
func (db *DB) DeleteTempCredentialsFrom(ctx context.Context, source string) (int64, error) {
	var n int64
	err := db.tx(ctx, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `DELETE FROM sts_credentials WHERE source_arn = ?`, source)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete credentials issued to %s: %w", source, err)
	}
	return n, nil
}
