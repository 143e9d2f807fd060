package store

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
CREATE UNIQUE INDEX builds_token ON builds(project, token) WHERE token IS NOT NULL;
`
