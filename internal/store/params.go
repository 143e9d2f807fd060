package store

// schemaParams holds SSM parameters and their versions.
const schemaParams = `SELECT 1;`
