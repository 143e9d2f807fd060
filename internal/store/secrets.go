package store

// schemaSecrets holds Secrets Manager secrets and their versions.
const schemaSecrets = `SELECT 1;`
