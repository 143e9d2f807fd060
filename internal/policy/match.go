package policy

// Match reports whether value matches an IAM wildcard pattern: '*' matches
// any run of characters (none included), '?' any one character. It is case
// sensitive, as IAM matches resources; use MatchFold for actions.
func Match(pattern, value string) bool { return match(pattern, value, false) }

// MatchFold is Match without regard to ASCII case, as IAM matches actions
// ("S3:getobject" matches "s3:Get*").
func MatchFold(pattern, value string) bool { return match(pattern, value, true) }

// match is matchLiteral with every pattern byte a wildcard candidate.
func match(pattern, value string, fold bool) bool { return matchLiteral(pattern, nil, value, fold) }

// MatchesAction reports whether the statement applies to action, honouring
// Action and NotAction.
func (s *Statement) MatchesAction(action string) bool {
	if len(s.NotAction) > 0 {
		return !anyMatch(s.NotAction, action, true)
	}
	return anyMatch(s.Action, action, true)
}

// MatchesResource reports whether the statement applies to resource,
// honouring Resource and NotResource. A statement with neither (a trust
// policy's) applies to every resource.
func (s *Statement) MatchesResource(resource string) bool {
	switch {
	case len(s.NotResource) > 0:
		return !anyMatch(s.NotResource, resource, false)
	case len(s.Resource) > 0:
		return anyMatch(s.Resource, resource, false)
	}
	return !s.Has("Resource")
}

func anyMatch(patterns []string, value string, fold bool) bool {
	for _, p := range patterns {
		if match(p, value, fold) {
			return true
		}
	}
	return false
}
