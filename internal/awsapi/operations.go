package awsapi

import "sort"

// Operations returns the names of the operations registered on s, sorted
// (authorisation tests check each has a mapping).
func (s *JSONService) Operations() []string {
	out := make([]string, 0, len(s.ops))
	for name := range s.ops {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Actions returns the Actions registered on s, sorted.
func (s *QueryService) Actions() []string {
	out := make([]string, 0, len(s.ops))
	for name := range s.ops {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
