package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order, once each; a database records how many it
// has seen in PRAGMA user_version. Append, never edit.
var migrations = []string{
	schemaCodeBuild,
	schemaObjects,
	schemaParams,
	schemaSecrets,
	schemaKeys,
	schemaFleets,
	schemaIAM,
}

func (db *DB) migrate(ctx context.Context) error {
	var version int
	if err := db.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	for i := version; i < len(migrations); i++ {
		err := db.tx(ctx, func(t *sql.Tx) error {
			if _, err := t.ExecContext(ctx, migrations[i]); err != nil {
				return err
			}
			_, err := t.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}
