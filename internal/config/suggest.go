package config

import "strings"

// suggest returns the known key closest to an unknown one, or "".
// known are full dotted paths; parent is the canonical path the unknown key
// sits under.
func suggest(parent, key string, siblings []string, known []string) string {
	lk := strings.ToLower(key)
	// A typo of a sibling: codebuild.projekt → codebuild.project.
	best, bestD := "", len(lk)/3+1
	for _, s := range siblings {
		if d := distance(lk, strings.ToLower(s)); d < bestD {
			best, bestD = join(parent, s), d
		}
	}
	if best != "" {
		return best
	}
	// The right key at the wrong level: codebuild.timeout_in_minutes →
	// codebuild.project.timeout_in_minutes.
	for _, k := range known {
		if strings.EqualFold(k[strings.LastIndexByte(k, '.')+1:], key) {
			return k
		}
	}
	// Otherwise the nearest full path, if near enough.
	full := strings.ToLower(join(parent, key))
	bestD = len(lk)/3 + 1
	for _, k := range known {
		if d := distance(full, strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein edit distance in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
