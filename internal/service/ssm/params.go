package ssm

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/store"
)

// Value size limits per tier, in bytes.
const (
	maxStandardValue = 4096
	maxAdvancedValue = 8192
)

// Batch limits of GetParameters and DeleteParameters.
const maxNames = 10

// PutParameterInput is the input of PutParameter. Optional members that an
// overwrite keeps when they are absent are pointers.
type PutParameterInput struct {
	Name           string               `json:"Name"`
	Description    *string              `json:"Description"`
	Value          *string              `json:"Value"`
	Type           string               `json:"Type"`
	KeyID          *string              `json:"KeyId"`
	Overwrite      bool                 `json:"Overwrite"`
	AllowedPattern *string              `json:"AllowedPattern"`
	Tags           []model.ParameterTag `json:"Tags"`
	Tier           string               `json:"Tier"`
	Policies       *string              `json:"Policies"`
	DataType       *string              `json:"DataType"`
}

// PutParameterOutput is the output of PutParameter.
type PutParameterOutput struct {
	Version int64  `json:"Version"`
	Tier    string `json:"Tier"`
}

var (
	paramTypes = []string{model.ParamString, model.ParamStringList, model.ParamSecureString}
	tiers      = []string{model.TierStandard, model.TierAdvanced, model.TierIntelligentTiering}
	dataTypes  = []string{model.DefaultParameterDataType, "aws:ec2:image", "aws:ssm:integration"}
	amiRE      = regexp.MustCompile(`^ami-[a-z0-9]{8,17}$`)
)

// PutParameter creates a parameter or, with Overwrite, adds a version to it.
func (s *Service) PutParameter(ctx context.Context, in *PutParameterInput) (*PutParameterOutput, error) {
	// AWS trims spaces around names (documented on PutParameter.Name).
	name := strings.TrimSpace(in.Name)
	if e := checkNewName(name, len(s.arnPrefix)+1); e != nil {
		return nil, e
	}
	if in.Value == nil {
		return nil, validation("1 validation error detected: Value null at 'value' failed to satisfy constraint: Member must not be null")
	}
	if *in.Value == "" {
		return nil, validation("1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1.")
	}
	if in.Type != "" && !slices.Contains(paramTypes, in.Type) {
		return nil, validation("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", in.Type)
	}
	if in.Tier != "" && !slices.Contains(tiers, in.Tier) {
		return nil, validation("1 validation error detected: Value '%s' at 'tier' failed to satisfy constraint: Member must satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]", in.Tier)
	}
	if in.DataType != nil && !slices.Contains(dataTypes, *in.DataType) {
		return nil, validation("The following data type is not supported: %s (Data type names are all lowercase.)", *in.DataType)
	}
	if in.Overwrite && len(in.Tags) > 0 {
		return nil, validation("Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.")
	}
	if in.Policies != nil && strings.TrimSpace(*in.Policies) != "" && strings.TrimSpace(*in.Policies) != "[]" {
		return nil, validation("Parameter policies are not supported by this Parameter Store.")
	}
	value := []byte(*in.Value)
	now := s.now()

	p, err := s.db.PutParam(ctx, key(name), func(cur *store.Param) (*store.Param, error) {
		if cur != nil && !in.Overwrite {
			return nil, awsapi.Errorf("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
		}
		next := &store.Param{Name: name, Tags: in.Tags}
		v := &next.ParamVersion
		v.Modified, v.ModifiedUser = now, s.user
		// An overwrite keeps what the request leaves out.
		v.Type, v.Tier, v.DataType = in.Type, in.Tier, model.DefaultParameterDataType
		if cur != nil {
			v.Description, v.AllowedPattern, v.DataType = cur.Description, cur.AllowedPattern, cur.DataType
			if v.Type == "" {
				v.Type = cur.Type
			}
		}
		if v.Type == "" {
			return nil, validation("A parameter type is required when you create a parameter.")
		}
		if in.Description != nil {
			v.Description = *in.Description
		}
		if in.AllowedPattern != nil {
			v.AllowedPattern = *in.AllowedPattern
		}
		if in.DataType != nil {
			v.DataType = *in.DataType
		}
		if v.Type == model.ParamSecureString {
			v.KeyID = model.DefaultParameterKeyID
			if cur != nil && cur.Type == model.ParamSecureString {
				v.KeyID = cur.KeyID
			}
			if in.KeyID != nil && *in.KeyID != "" {
				v.KeyID = *in.KeyID
			}
		}
		tier, err := pickTier(in.Tier, cur, len(value))
		if err != nil {
			return nil, err
		}
		v.Tier = tier
		if v.DataType == "aws:ec2:image" && (v.Type != model.ParamString || !amiRE.Match(value)) {
			return nil, validation("Parameter value, %s, is not a valid image ID for data type aws:ec2:image.", shown(v.Type, *in.Value))
		}
		if v.AllowedPattern != "" {
			// AllowedPattern must match the whole value (the SSM user guide's
			// \d{1,4} example refuses "10,000").
			re, err := regexp.Compile(`^(?:` + v.AllowedPattern + `)$`)
			if err != nil {
				return nil, awsapi.Errorf("InvalidAllowedPatternException", "The request doesn't meet the regular expression requirement: %v", err)
			}
			if !re.Match(value) {
				return nil, awsapi.Errorf("ParameterPatternMismatchException", "Parameter value, cannot be validated against allowedPattern: %s", v.AllowedPattern)
			}
		}
		if v.Type == model.ParamSecureString {
			v.Value = s.seal.Seal(value)
		} else {
			v.Value = value
		}
		return next, nil
	})
	if err != nil {
		if _, ok := awsapi.AsError(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("put parameter %s: %w", name, err)
	}
	s.log.InfoContext(ctx, "parameter written", "name", name, "version", p.Version, "type", p.Type)
	return &PutParameterOutput{Version: p.Version, Tier: p.Tier}, nil
}

// shown returns value for messages, or a placeholder when it is secret.
func shown(typ, value string) string {
	if typ == model.ParamSecureString {
		return "***"
	}
	return value
}

// pickTier decides the tier of a new version: the requested one, else the
// current one, else Standard; Intelligent-Tiering picks by size. A value
// too large for the tier and a downgrade from Advanced are refused.
func pickTier(req string, cur *store.Param, size int) (string, *awsapi.Error) {
	tier := req
	switch {
	case tier == model.TierIntelligentTiering:
		tier = model.TierStandard
		if size > maxStandardValue || cur != nil && cur.Tier == model.TierAdvanced {
			tier = model.TierAdvanced
		}
	case tier == "" && cur != nil:
		tier = cur.Tier
	case tier == "":
		tier = model.TierStandard
	}
	if tier == model.TierStandard && cur != nil && cur.Tier == model.TierAdvanced {
		return "", validation("This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.")
	}
	if tier == model.TierStandard && size > maxStandardValue {
		return "", validation("Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html")
	}
	if size > maxAdvancedValue {
		return "", validation("Advanced tier parameters support a maximum parameter value of 8192 characters.")
	}
	return tier, nil
}

// GetParameterInput is the input of GetParameter.
type GetParameterInput struct {
	Name           string `json:"Name"`
	WithDecryption bool   `json:"WithDecryption"`
}

// GetParameterOutput is the output of GetParameter.
type GetParameterOutput struct {
	Parameter *model.Parameter `json:"Parameter"`
}

// GetParameter returns one parameter by name, ARN, name:version or
// name:label.
func (s *Service) GetParameter(ctx context.Context, in *GetParameterInput) (*GetParameterOutput, error) {
	p, err := s.get(ctx, in.Name, in.WithDecryption)
	if err != nil {
		return nil, err
	}
	return &GetParameterOutput{Parameter: p}, nil
}

// get looks up one parameter reference. Errors are *awsapi.Error for what
// the client got wrong (ValidationException, ParameterNotFound,
// ParameterVersionNotFound) and plain errors for failures.
func (s *Service) get(ctx context.Context, name string, decrypt bool) (*model.Parameter, error) {
	r, ok := parseRef(name, s.arnPrefix)
	if !ok {
		return nil, validation("%s", msgNameRules)
	}
	if r.Foreign {
		return nil, notFound(name)
	}
	if r.Selector != "" && r.Version == 0 {
		// Hangar has no LabelParameterVersion, so no label can match.
		return nil, notFound(name)
	}
	version := r.Version
	if version < 0 {
		version = 0 // looked up below only to tell the two errors apart
	}
	p, err := s.db.Param(ctx, key(r.Name), version)
	if errors.Is(err, store.ErrNotFound) {
		if r.Version == 0 {
			return nil, notFound(name)
		}
		exists, xerr := s.db.ParamExists(ctx, key(r.Name))
		if xerr != nil {
			return nil, xerr
		}
		if !exists {
			return nil, notFound(name)
		}
		return nil, versionNotFound(r.Selector, r.Name)
	}
	if err != nil {
		return nil, err
	}
	if r.Version < 0 {
		return nil, versionNotFound(r.Selector, r.Name)
	}
	value, err := s.value(p, decrypt)
	if err != nil {
		return nil, err
	}
	out := &model.Parameter{
		Name:             p.Name,
		Type:             p.Type,
		Value:            value,
		Version:          p.Version,
		LastModifiedDate: model.NewTime(p.Modified),
		ARN:              s.names.ParameterArn(p.Name),
		DataType:         p.DataType,
	}
	if r.Selector != "" {
		out.Selector = ":" + r.Selector
	}
	return out, nil
}

// value returns what the API shows as a version's value: SecureString
// values opened when decrypt is set and otherwise their ciphertext in
// base64, the way AWS shows its KMS ciphertext.
func (s *Service) value(p *store.Param, decrypt bool) (string, error) {
	if p.Type != model.ParamSecureString {
		return string(p.Value), nil
	}
	if !decrypt {
		return base64.StdEncoding.EncodeToString(p.Value), nil
	}
	pt, err := s.seal.Open(p.Value)
	if err != nil {
		return "", fmt.Errorf("open version %d of parameter %s: %w", p.Version, p.Name, err)
	}
	return string(pt), nil
}

// GetParametersInput is the input of GetParameters.
type GetParametersInput struct {
	Names          []string `json:"Names"`
	WithDecryption bool     `json:"WithDecryption"`
}

// GetParametersOutput is the output of GetParameters.
type GetParametersOutput struct {
	Parameters        []*model.Parameter `json:"Parameters"`
	InvalidParameters []string           `json:"InvalidParameters"`
}

func checkNames(names []string) *awsapi.Error {
	if len(names) == 0 {
		return validation("1 validation error detected: Value '[]' at 'names' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(names) > maxNames {
		return validation("1 validation error detected: Value '[%s]' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10", strings.Join(names, ", "))
	}
	return nil
}

// GetParameters returns up to 10 parameters; names that do not resolve are
// listed in InvalidParameters rather than failing the call.
func (s *Service) GetParameters(ctx context.Context, in *GetParametersInput) (*GetParametersOutput, error) {
	if e := checkNames(in.Names); e != nil {
		return nil, e
	}
	out := &GetParametersOutput{Parameters: []*model.Parameter{}, InvalidParameters: []string{}}
	seen := map[string]bool{}
	for _, n := range in.Names {
		if seen[n] {
			continue
		}
		seen[n] = true
		p, err := s.get(ctx, n, in.WithDecryption)
		if _, ok := awsapi.AsError(err); ok {
			out.InvalidParameters = append(out.InvalidParameters, n)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get parameter %s: %w", n, err)
		}
		out.Parameters = append(out.Parameters, p)
	}
	return out, nil
}

// ParameterStringFilter is a ParameterFilters entry.
type ParameterStringFilter struct {
	Key    string   `json:"Key"`
	Option string   `json:"Option"`
	Values []string `json:"Values"`
}

// GetParametersByPathInput is the input of GetParametersByPath.
type GetParametersByPathInput struct {
	Path             string                  `json:"Path"`
	Recursive        bool                    `json:"Recursive"`
	ParameterFilters []ParameterStringFilter `json:"ParameterFilters"`
	WithDecryption   bool                    `json:"WithDecryption"`
	MaxResults       *int                    `json:"MaxResults"`
	NextToken        string                  `json:"NextToken"`
}

// GetParametersByPathOutput is the output of GetParametersByPath.
type GetParametersByPathOutput struct {
	Parameters []*model.Parameter `json:"Parameters"`
	NextToken  string             `json:"NextToken,omitempty"`
}

// GetParametersByPath returns the parameters under a path, one level or
// (Recursive) all levels down, in name order, one page at a time.
func (s *Service) GetParametersByPath(ctx context.Context, in *GetParametersByPathInput) (*GetParametersByPathOutput, error) {
	path, e := parsePath(in.Path)
	if e != nil {
		return nil, e
	}
	limit, e := maxResults(in.MaxResults, 10, 10)
	if e != nil {
		return nil, e
	}
	match, e := compileFilters(in.ParameterFilters, byPathFilters)
	if e != nil {
		return nil, e
	}
	after, e := decodeToken('p', in.NextToken)
	if e != nil {
		return nil, e
	}
	prefix := ""
	if path != "/" {
		prefix = path + "/"
	}
	all, err := s.db.Params(ctx, prefix, true)
	if err != nil {
		return nil, fmt.Errorf("get parameters by path %s: %w", path, err)
	}
	out := &GetParametersByPathOutput{Parameters: []*model.Parameter{}}
	var last string
	for _, p := range all {
		if p.Key <= after && after != "" || !underPath(p.Key, path, in.Recursive) || !match(p) {
			continue
		}
		if len(out.Parameters) == limit {
			out.NextToken = encodeToken('p', last)
			break
		}
		last = p.Key
		value, err := s.value(p, in.WithDecryption)
		if err != nil {
			return nil, err
		}
		out.Parameters = append(out.Parameters, &model.Parameter{
			Name:             p.Name,
			Type:             p.Type,
			Value:            value,
			Version:          p.Version,
			LastModifiedDate: model.NewTime(p.Modified),
			ARN:              s.names.ParameterArn(p.Name),
			DataType:         p.DataType,
		})
	}
	return out, nil
}

// DeleteParameterInput is the input of DeleteParameter.
type DeleteParameterInput struct {
	Name string `json:"Name"`
}

// DeleteParameterOutput is the (empty) output of DeleteParameter.
type DeleteParameterOutput struct{}

// DeleteParameter deletes a parameter and all its versions.
func (s *Service) DeleteParameter(ctx context.Context, in *DeleteParameterInput) (*DeleteParameterOutput, error) {
	if err := s.delete(ctx, in.Name); err != nil {
		return nil, err
	}
	return &DeleteParameterOutput{}, nil
}

func (s *Service) delete(ctx context.Context, name string) error {
	name = strings.TrimSpace(name)
	if strings.HasPrefix(strings.ToLower(strings.TrimPrefix(name, "/")), "aws") {
		return awsapi.Errorf("AccessDeniedException", "No access to reserved parameter name: %s.", name)
	}
	if !wellFormed(name) {
		return validation("%s", msgNameRules)
	}
	err := s.db.DeleteParam(ctx, key(name))
	if errors.Is(err, store.ErrNotFound) {
		return notFound(name)
	}
	if err != nil {
		return fmt.Errorf("delete parameter %s: %w", name, err)
	}
	s.log.InfoContext(ctx, "parameter deleted", "name", name)
	return nil
}

// DeleteParametersInput is the input of DeleteParameters.
type DeleteParametersInput struct {
	Names []string `json:"Names"`
}

// DeleteParametersOutput is the output of DeleteParameters.
type DeleteParametersOutput struct {
	DeletedParameters []string `json:"DeletedParameters"`
	InvalidParameters []string `json:"InvalidParameters"`
}

// DeleteParameters deletes up to 10 parameters; names that do not exist are
// listed in InvalidParameters.
func (s *Service) DeleteParameters(ctx context.Context, in *DeleteParametersInput) (*DeleteParametersOutput, error) {
	if e := checkNames(in.Names); e != nil {
		return nil, e
	}
	out := &DeleteParametersOutput{DeletedParameters: []string{}, InvalidParameters: []string{}}
	for _, n := range in.Names {
		err := s.delete(ctx, n)
		if _, ok := awsapi.AsError(err); ok {
			out.InvalidParameters = append(out.InvalidParameters, n)
			continue
		}
		if err != nil {
			return nil, err
		}
		out.DeletedParameters = append(out.DeletedParameters, n)
	}
	return out, nil
}

// ParametersFilter is a (legacy) Filters entry of DescribeParameters.
type ParametersFilter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

// DescribeParametersInput is the input of DescribeParameters.
type DescribeParametersInput struct {
	Filters          []ParametersFilter      `json:"Filters"`
	ParameterFilters []ParameterStringFilter `json:"ParameterFilters"`
	MaxResults       *int                    `json:"MaxResults"`
	NextToken        string                  `json:"NextToken"`
	Shared           bool                    `json:"Shared"`
}

// DescribeParametersOutput is the output of DescribeParameters.
type DescribeParametersOutput struct {
	Parameters []*model.ParameterMetadata `json:"Parameters"`
	NextToken  string                     `json:"NextToken,omitempty"`
}

// DescribeParameters lists parameters' metadata (never values), in name
// order, one page at a time.
func (s *Service) DescribeParameters(ctx context.Context, in *DescribeParametersInput) (*DescribeParametersOutput, error) {
	if len(in.Filters) > 0 && len(in.ParameterFilters) > 0 {
		return nil, validation("You can use either Filters or ParameterFilters in a single request.")
	}
	limit, e := maxResults(in.MaxResults, 50, 50)
	if e != nil {
		return nil, e
	}
	filters := in.ParameterFilters
	for _, f := range in.Filters {
		// The legacy filters are the string filters with their default
		// options; Name matched by prefix there.
		opt := "Equals"
		if f.Key == "Name" {
			opt = "BeginsWith"
		}
		if f.Key != "Name" && f.Key != "Type" && f.Key != "KeyId" {
			return nil, validation("1 validation error detected: Value '%s' at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: [Name, Type, KeyId]", f.Key)
		}
		filters = append(filters, ParameterStringFilter{Key: f.Key, Option: opt, Values: f.Values})
	}
	match, e := compileFilters(filters, describeFilters)
	if e != nil {
		return nil, e
	}
	after, e := decodeToken('d', in.NextToken)
	if e != nil {
		return nil, e
	}
	out := &DescribeParametersOutput{Parameters: []*model.ParameterMetadata{}}
	if in.Shared {
		return out, nil // one runner is one account: nothing is shared with it
	}
	all, err := s.db.Params(ctx, "", false)
	if err != nil {
		return nil, fmt.Errorf("describe parameters: %w", err)
	}
	var last string
	for _, p := range all {
		if p.Key <= after && after != "" || !match(p) {
			continue
		}
		if len(out.Parameters) == limit {
			out.NextToken = encodeToken('d', last)
			break
		}
		last = p.Key
		out.Parameters = append(out.Parameters, &model.ParameterMetadata{
			Name:             p.Name,
			ARN:              s.names.ParameterArn(p.Name),
			Type:             p.Type,
			KeyID:            p.KeyID,
			LastModifiedDate: model.NewTime(p.Modified),
			LastModifiedUser: p.ModifiedUser,
			Description:      p.Description,
			AllowedPattern:   p.AllowedPattern,
			Version:          p.Version,
			Tier:             p.Tier,
			Policies:         []model.ParameterInlinePolicy{},
			DataType:         p.DataType,
		})
	}
	return out, nil
}

// GetParameterHistoryInput is the input of GetParameterHistory.
type GetParameterHistoryInput struct {
	Name           string `json:"Name"`
	WithDecryption bool   `json:"WithDecryption"`
	MaxResults     *int   `json:"MaxResults"`
	NextToken      string `json:"NextToken"`
}

// GetParameterHistoryOutput is the output of GetParameterHistory.
type GetParameterHistoryOutput struct {
	Parameters []*model.ParameterHistory `json:"Parameters"`
	NextToken  string                    `json:"NextToken,omitempty"`
}

// GetParameterHistory returns the kept versions of a parameter, oldest
// first, one page at a time.
func (s *Service) GetParameterHistory(ctx context.Context, in *GetParameterHistoryInput) (*GetParameterHistoryOutput, error) {
	r, ok := parseRef(in.Name, s.arnPrefix)
	if !ok || r.Selector != "" {
		return nil, validation("%s", msgNameRules)
	}
	if r.Foreign {
		return nil, notFound(in.Name)
	}
	limit, e := maxResults(in.MaxResults, 50, 50)
	if e != nil {
		return nil, e
	}
	afterTok, e := decodeToken('h', in.NextToken)
	if e != nil {
		return nil, e
	}
	var after int64
	if afterTok != "" {
		n, err := strconv.ParseInt(afterTok, 10, 64)
		if err != nil {
			return nil, awsapi.Errorf("InvalidNextToken", "The nextToken is not valid.")
		}
		after = n
	}
	versions, err := s.db.ParamHistory(ctx, key(r.Name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(in.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("get history of parameter %s: %w", r.Name, err)
	}
	out := &GetParameterHistoryOutput{Parameters: []*model.ParameterHistory{}}
	for _, p := range versions {
		if p.Version <= after {
			continue
		}
		if len(out.Parameters) == limit {
			out.NextToken = encodeToken('h', strconv.FormatInt(out.Parameters[limit-1].Version, 10))
			break
		}
		value, err := s.value(p, in.WithDecryption)
		if err != nil {
			return nil, err
		}
		out.Parameters = append(out.Parameters, &model.ParameterHistory{
			Name:             p.Name,
			Type:             p.Type,
			KeyID:            p.KeyID,
			LastModifiedDate: model.NewTime(p.Modified),
			LastModifiedUser: p.ModifiedUser,
			Description:      p.Description,
			Value:            value,
			AllowedPattern:   p.AllowedPattern,
			Version:          p.Version,
			Labels:           []string{},
			Tier:             p.Tier,
			Policies:         []model.ParameterInlinePolicy{},
			DataType:         p.DataType,
		})
	}
	return out, nil
}
