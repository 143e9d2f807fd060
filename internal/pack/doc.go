// Package pack turns a working tree into a snapshot a runner can rebuild.
//
// The client side scans the tree (Scan: .gitignore/.hangarignore rules,
// always_keep/always_remove, symlinks kept as links, a hash cache so an
// unchanged tree is not read again), records git metadata (GitInfo), and
// either uploads the blobs a runner lacks (Manifest.Missing) plus the
// manifest document (Manifest.Encode), or one archive (WriteArchive) for
// AWS targets. The runner side parses the manifest as hostile input
// (ParseManifest) and rebuilds the tree from its blob store (Assemble).
//
// The manifest document is JSON:
//
//	{"version":1,"entries":[
//	  {"path":"bin","type":"dir","mode":493},
//	  {"path":"bin/run.sh","type":"file","mode":493,"size":42,"sha256":"<64 hex>"},
//	  {"path":"current","type":"symlink","target":"bin"}]}
//
// Entries are sorted by path (bytewise), paths are "/"-separated and
// relative, mode holds the permission bits, and a file's content is named by
// its SHA-256. No times, owners or scan details are part of it, so the same
// tree gives the same bytes and the same Manifest.Hash.
package pack
