// Package logstore keeps CloudWatch-Logs-like log streams on disk: groups of
// append-only streams that one runner writes build output into and many
// clients read, live, by token, by time range or with a filter pattern.
//
// # Layout
//
//	<dir>/g<id>/group.json     {"name","creationTime"} of log group <id>
//	<dir>/g<id>/s<no>.log      log stream <no> of that group
//	<dir>/tmp-*, <dir>/del-*   half-created / half-deleted groups, removed at Open
//
// Group and stream numbers are assigned in creation order and never reused
// within a group, so names of any length or alphabet map to safe file names
// and a stream's number can be part of its event ids.
//
// # Stream file
//
// A stream file starts with a header:
//
//	"HLOGv001" | u32 n | n bytes of JSON {"name","no","creationTime"} | u32 crc32c(JSON)
//
// followed by one record per event, all integers little-endian:
//
//	u32 n | u32 crc32c(body) | body: i64 timestamp ms, i64 ingestion ms, message | u32 n
//
// where n is the body length (16 + len(message)). The leading length lets a
// reader go forward, the trailing one lets it go backward from any record
// boundary (the newest events are read first by default), and the CRC
// detects a record torn by a crash: Open checks the last record of every
// stream and, when it is torn, truncates the file after the last whole record.
//
// Appends are one write(2) per batch and no fsync: an event survives a
// kill -9 of the process as soon as Append returns (the kernel has the
// bytes); surviving power loss would need an fsync per batch, which the
// throughput bar does not allow and CodeBuild does not promise either.
//
// # Positions, tokens and event ids
//
// Events of a stream are numbered 0, 1, 2… in file order (their seq). A
// stream is kept sorted by timestamp: an event older than the stream's newest
// is stored with the newest timestamp (CloudWatch sorts a stream by time; the
// runner's own clock only goes back on a clock step), which makes time-range
// seeks a binary search over a sparse in-memory index (one entry per 64 KiB).
//
// GetLogEvents tokens are "f/<seq>" (read forward from event seq) and
// "b/<seq>" (read backward from before event seq), in canonical decimal.
// FilterLogEvents returns events of several streams merged by the key
// (timestamp, stream number, seq); an event id is that key as 56 digits
// (20 + 16 + 20, zero-padded), so ids are stable, unique within a group and
// sort in result order. FilterLogEvents tokens are "f/<id>" or "b/<id>" of the
// last event examined: the next page resumes after (or before) that key.
package logstore
