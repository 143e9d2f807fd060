package ssm

import (
	"slices"
	"strings"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/store"
)

// filterSet says which ParameterFilters keys a call accepts.
type filterSet struct {
	keys    []string // besides tag:<key>
	message string   // the list AWS names when refusing a key
}

var (
	byPathFilters   = filterSet{keys: []string{"Type", "KeyId", "Label"}, message: "[Type, KeyId]"}
	describeFilters = filterSet{keys: []string{"Name", "Type", "KeyId", "Path", "Tier", "DataType"}, message: "[Path, Name, Type, KeyId, Tier]"}
)

// compileFilters checks ParameterFilters and returns a predicate that is
// true for parameters that match all of them.
func compileFilters(fs []ParameterStringFilter, allowed filterSet) (func(*store.Param) bool, *awsapi.Error) {
	var preds []func(*store.Param) bool
	seen := map[string]bool{}
	for _, f := range fs {
		tag, isTag := strings.CutPrefix(f.Key, "tag:")
		if isTag && tag == "" || !isTag && !slices.Contains(allowed.keys, f.Key) {
			return nil, awsapi.Errorf("InvalidFilterKey", "The following filter key is not valid: %s. Valid filter keys include: %s.", f.Key, allowed.message)
		}
		if seen[f.Key] {
			return nil, awsapi.Errorf("InvalidFilterKey", "The following filter is duplicated in the request: %s. A request can contain only one occurrence of a specific filter.", f.Key)
		}
		seen[f.Key] = true
		if len(f.Values) == 0 && !isTag {
			return nil, awsapi.Errorf("InvalidFilterValue", "The following filter values are missing : null for filter key %s.", f.Key)
		}
		opt := f.Option
		options := []string{"Equals", "BeginsWith"}
		switch {
		case f.Key == "Path":
			options = []string{"Recursive", "OneLevel"}
			if opt == "" {
				opt = "OneLevel"
			}
		case f.Key == "Name":
			options = append(options, "Contains")
		case f.Key == "Label":
			options = []string{"Equals"}
		}
		if opt == "" {
			opt = "Equals"
		}
		if !slices.Contains(options, opt) {
			return nil, awsapi.Errorf("InvalidFilterOption", "The following filter option is not valid: %s. Valid options include: [%s].", opt, strings.Join(options, ", "))
		}
		values := f.Values
		switch f.Key {
		case "Type":
			for _, v := range values {
				if !slices.Contains(paramTypes, v) {
					return nil, awsapi.Errorf("InvalidFilterValue", "The following filter value is not valid: %s. Valid values include: [String, StringList, SecureString].", v)
				}
			}
			preds = append(preds, func(p *store.Param) bool { return matchString(opt, p.Type, values) })
		case "KeyId":
			preds = append(preds, func(p *store.Param) bool { return p.KeyID != "" && matchString(opt, p.KeyID, values) })
		case "Tier":
			for _, v := range values {
				if !slices.Contains(tiers, v) {
					return nil, awsapi.Errorf("InvalidFilterValue", "The following filter value is not valid: %s. Valid values include: [Standard, Advanced, Intelligent-Tiering].", v)
				}
			}
			preds = append(preds, func(p *store.Param) bool { return matchString(opt, p.Tier, values) })
		case "DataType":
			preds = append(preds, func(p *store.Param) bool { return matchString(opt, p.DataType, values) })
		case "Label":
			// Hangar keeps no labels, so no version carries one.
			preds = append(preds, func(*store.Param) bool { return false })
		case "Name":
			// Names compare with their leading slash, so "a" and "/a" match
			// one another as they name one parameter.
			norm := make([]string, len(values))
			for i, v := range values {
				norm[i] = v
				if opt != "Contains" {
					norm[i] = "/" + strings.TrimPrefix(strings.TrimSpace(v), "/")
				}
			}
			preds = append(preds, func(p *store.Param) bool {
				if opt == "Contains" {
					return matchString(opt, p.Name, norm)
				}
				return matchString(opt, fullName(p.Key), norm)
			})
		case "Path":
			paths := make([]string, len(values))
			for i, v := range values {
				pp, e := parsePath(v)
				if e != nil {
					return nil, e
				}
				paths[i] = pp
			}
			recursive := opt == "Recursive"
			preds = append(preds, func(p *store.Param) bool {
				for _, pp := range paths {
					if underPath(p.Key, pp, recursive) {
						return true
					}
				}
				return false
			})
		default: // tag:<key>; with no values it asks only that the tag exists
			preds = append(preds, func(p *store.Param) bool {
				for _, t := range p.Tags {
					if t.Key == tag && (len(values) == 0 || matchString(opt, t.Value, values)) {
						return true
					}
				}
				return false
			})
		}
	}
	return func(p *store.Param) bool {
		for _, pred := range preds {
			if !pred(p) {
				return false
			}
		}
		return true
	}, nil
}

// matchString reports whether s matches any of values under option.
func matchString(option, s string, values []string) bool {
	for _, v := range values {
		switch option {
		case "Equals":
			if s == v {
				return true
			}
		case "BeginsWith":
			if strings.HasPrefix(s, v) {
				return true
			}
		case "Contains":
			if strings.Contains(s, v) {
				return true
			}
		}
	}
	return false
}
