package secretsmanager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/store"
)

// maxValue is the largest secret value in bytes.
const maxValue = 65536

// secretValue is the value of a write request: SecretString or
// SecretBinary, of which at most one may be given.
type secretValue struct {
	String *string
	Binary []byte
}

func (v secretValue) present() bool { return v.String != nil || v.Binary != nil }

func (v secretValue) bytes() []byte {
	if v.String != nil {
		return []byte(*v.String)
	}
	return v.Binary
}

// check validates a value and the token that names its version.
func (v secretValue) check(token string) *awsapi.Error {
	if v.String != nil && v.Binary != nil {
		return awsapi.Errorf("InvalidParameterException", msgBothValues)
	}
	if !v.present() {
		return nil
	}
	member := "secretString"
	if v.Binary != nil {
		member = "secretBinary"
	}
	if n := len(v.bytes()); n == 0 {
		return validation("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length greater than or equal to 1", member)
	} else if n > maxValue {
		return validation("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", member, maxValue)
	}
	if token == "" {
		// SDKs and the CLI always fill the token in; raw requests must too.
		return awsapi.Errorf("InvalidRequestException", msgNeedToken)
	}
	if len(token) < 32 || len(token) > 64 {
		return validation("1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64")
	}
	return nil
}

// same reports whether version v holds value.
func (s *Service) same(v *store.SecretVersion, val secretValue) (bool, error) {
	if v.Binary != (val.Binary != nil) {
		return false, nil
	}
	pt, err := s.seal.Open(v.Value)
	if err != nil {
		return false, fmt.Errorf("open version %s: %w", v.ID, err)
	}
	return bytes.Equal(pt, val.bytes()), nil
}

// addVersion adds the version named token holding val to sec with stages,
// or, when a version with that id exists already, leaves sec alone if it
// holds the same value (a retried request) and fails if it does not.
// It returns the version that holds the value.
func (s *Service) addVersion(sec *store.Secret, token string, val secretValue, stages []string, now time.Time) (*store.SecretVersion, error) {
	if v := sec.Version(token); v != nil {
		same, err := s.same(v, val)
		if err != nil {
			return nil, err
		}
		if !same {
			return nil, awsapi.Errorf("ResourceExistsException", "You can't use ClientRequestToken %s because that value is already in use for a version of secret %s.", token, sec.ARN)
		}
		return v, nil
	}
	v := &store.SecretVersion{ID: token, Binary: val.Binary != nil, Value: s.seal.Seal(val.bytes()), Created: now}
	sec.Versions = append(sec.Versions, v)
	moveStages(sec, v, stages)
	sec.Changed = now
	return v, nil
}

// moveStages attaches stages to v, taking each from whichever version had
// it. When AWSCURRENT moves, the version it leaves gets AWSPREVIOUS.
func moveStages(sec *store.Secret, v *store.SecretVersion, stages []string) {
	prev := sec.Staged(model.StageCurrent)
	for _, o := range sec.Versions {
		if o != v {
			o.Stages = slices.DeleteFunc(o.Stages, func(st string) bool { return slices.Contains(stages, st) })
		}
	}
	for _, st := range stages {
		if !slices.Contains(v.Stages, st) {
			v.Stages = append(v.Stages, st)
		}
	}
	if slices.Contains(stages, model.StageCurrent) && prev != nil && prev != v {
		for _, o := range sec.Versions {
			o.Stages = slices.DeleteFunc(o.Stages, func(st string) bool { return st == model.StagePrevious })
		}
		prev.Stages = append(prev.Stages, model.StagePrevious)
	}
}

// CreateSecretInput is the input of CreateSecret.
type CreateSecretInput struct {
	Name                        string            `json:"Name"`
	ClientRequestToken          string            `json:"ClientRequestToken"`
	Description                 string            `json:"Description"`
	KmsKeyID                    string            `json:"KmsKeyId"`
	SecretBinary                []byte            `json:"SecretBinary"`
	SecretString                *string           `json:"SecretString"`
	Tags                        []model.SecretTag `json:"Tags"`
	AddReplicaRegions           []any             `json:"AddReplicaRegions"`
	ForceOverwriteReplicaSecret bool              `json:"ForceOverwriteReplicaSecret"`
	Type                        string            `json:"Type"`
}

// CreateSecretOutput is the output of CreateSecret.
type CreateSecretOutput struct {
	ARN       string `json:"ARN"`
	Name      string `json:"Name"`
	VersionID string `json:"VersionId,omitempty"`
}

// CreateSecret creates a secret, with a first version when a value is
// given. Repeating a request with the same token and value is harmless.
func (s *Service) CreateSecret(ctx context.Context, in *CreateSecretInput) (*CreateSecretOutput, error) {
	if len(in.Name) > 512 || !nameRE.MatchString(in.Name) {
		return nil, validation(msgBadName)
	}
	if len(in.AddReplicaRegions) > 0 {
		return nil, awsapi.Errorf("InvalidParameterException", "Replica regions are not supported: a Hangar runner is one region.")
	}
	val := secretValue{String: in.SecretString, Binary: in.SecretBinary}
	if e := val.check(in.ClientRequestToken); e != nil {
		return nil, e
	}
	now := s.now()
	out := &CreateSecretOutput{}
	_, err := s.db.EditSecret(ctx, store.SecretKey{Name: in.Name}, now, func(cur *store.Secret) (*store.Secret, error) {
		if cur != nil {
			if cur.Deletion != nil {
				return nil, awsapi.Errorf("InvalidRequestException", msgCreateDeleted)
			}
			if val.present() && cur.Version(in.ClientRequestToken) != nil {
				// A retry of the request that created it, or a conflict.
				v, err := s.addVersion(cur, in.ClientRequestToken, val, nil, now)
				if err != nil {
					return nil, err
				}
				out.ARN, out.Name, out.VersionID = cur.ARN, cur.Name, v.ID
				return cur, nil
			}
			return nil, awsapi.Errorf("ResourceExistsException", "The operation failed because the secret %s already exists.", in.Name)
		}
		sec := &store.Secret{
			Name:        in.Name,
			ARN:         s.names.SecretArn(in.Name, randomSuffix()),
			Description: in.Description,
			KmsKeyID:    in.KmsKeyID,
			Tags:        in.Tags,
			Created:     now,
			Changed:     now,
		}
		out.ARN, out.Name = sec.ARN, sec.Name
		if val.present() {
			v, err := s.addVersion(sec, in.ClientRequestToken, val, []string{model.StageCurrent}, now)
			if err != nil {
				return nil, err
			}
			out.VersionID = v.ID
		}
		return sec, nil
	})
	if err != nil {
		return nil, clientErr(err, "create secret %s", in.Name)
	}
	s.log.InfoContext(ctx, "secret created", "name", out.Name, "version", out.VersionID)
	return out, nil
}

// PutSecretValueInput is the input of PutSecretValue.
type PutSecretValueInput struct {
	SecretID           string   `json:"SecretId"`
	ClientRequestToken string   `json:"ClientRequestToken"`
	SecretBinary       []byte   `json:"SecretBinary"`
	SecretString       *string  `json:"SecretString"`
	VersionStages      []string `json:"VersionStages"`
	RotationToken      string   `json:"RotationToken"`
}

// PutSecretValueOutput is the output of PutSecretValue.
type PutSecretValueOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionID     string   `json:"VersionId"`
	VersionStages []string `json:"VersionStages"`
}

// PutSecretValue adds a version to a secret. Without VersionStages it
// becomes AWSCURRENT and the version it replaces AWSPREVIOUS.
func (s *Service) PutSecretValue(ctx context.Context, in *PutSecretValueInput) (*PutSecretValueOutput, error) {
	val := secretValue{String: in.SecretString, Binary: in.SecretBinary}
	if !val.present() {
		return nil, awsapi.Errorf("InvalidRequestException", msgNoValue)
	}
	if e := val.check(in.ClientRequestToken); e != nil {
		return nil, e
	}
	stages := in.VersionStages
	if len(stages) == 0 {
		stages = []string{model.StageCurrent}
	}
	now := s.now()
	out := &PutSecretValueOutput{}
	_, err := s.db.EditSecret(ctx, s.key(in.SecretID), now, func(cur *store.Secret) (*store.Secret, error) {
		if cur == nil {
			return nil, errNotFound()
		}
		if cur.Deletion != nil {
			return nil, errMarkedDeleted()
		}
		st := stages
		if len(cur.Versions) == 0 && !slices.Contains(st, model.StageCurrent) {
			// A secret's first value is its current one, whatever the labels.
			st = append(slices.Clone(st), model.StageCurrent)
		}
		v, err := s.addVersion(cur, in.ClientRequestToken, val, st, now)
		if err != nil {
			return nil, err
		}
		out.ARN, out.Name, out.VersionID = cur.ARN, cur.Name, v.ID
		out.VersionStages = slices.Clone(v.Stages)
		return cur, nil
	})
	if err != nil {
		return nil, clientErr(err, "put value of secret %s", in.SecretID)
	}
	s.log.InfoContext(ctx, "secret value put", "name", out.Name, "version", out.VersionID, "stages", out.VersionStages)
	return out, nil
}

// GetSecretValueInput is the input of GetSecretValue.
type GetSecretValueInput struct {
	SecretID     string `json:"SecretId"`
	VersionID    string `json:"VersionId"`
	VersionStage string `json:"VersionStage"`
}

// GetSecretValueOutput is the output of GetSecretValue.
type GetSecretValueOutput struct {
	ARN           string      `json:"ARN"`
	Name          string      `json:"Name"`
	VersionID     string      `json:"VersionId"`
	SecretBinary  []byte      `json:"SecretBinary,omitempty"`
	SecretString  *string     `json:"SecretString,omitempty"`
	VersionStages []string    `json:"VersionStages"`
	CreatedDate   *model.Time `json:"CreatedDate"`
}

// GetSecretValue returns a version of a secret: by VersionId, by
// VersionStage, or the AWSCURRENT one.
func (s *Service) GetSecretValue(ctx context.Context, in *GetSecretValueInput) (*GetSecretValueOutput, error) {
	out, err := s.getValue(ctx, in.SecretID, in.VersionID, in.VersionStage)
	if err != nil {
		return nil, clientErr(err, "get value of secret %s", in.SecretID)
	}
	return out, nil
}

func (s *Service) getValue(ctx context.Context, id, versionID, stage string) (*GetSecretValueOutput, error) {
	now := s.now()
	sec, err := s.db.Secret(ctx, s.key(id), now)
	if isNotFound(err) {
		return nil, errNotFound()
	}
	if err != nil {
		return nil, err
	}
	if sec.Deletion != nil {
		return nil, errMarkedDeleted()
	}
	var v *store.SecretVersion
	if versionID != "" {
		if v = sec.Version(versionID); v == nil {
			return nil, awsapi.Errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: %s", versionID)
		}
		if stage != "" && !slices.Contains(v.Stages, stage) {
			return nil, awsapi.Errorf("InvalidRequestException", "You provided a VersionStage that is not associated to the provided VersionId.")
		}
	} else {
		if stage == "" {
			stage = model.StageCurrent
		}
		if v = sec.Staged(stage); v == nil {
			return nil, awsapi.Errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: %s", stage)
		}
	}
	pt, err := s.seal.Open(v.Value)
	if err != nil {
		return nil, fmt.Errorf("open version %s of secret %s: %w", v.ID, sec.Name, err)
	}
	// Secrets Manager keeps the access date only, so one write a day will
	// do; a failure to record it must not fail the read.
	day := now.UTC().Truncate(24 * time.Hour)
	if sec.Accessed == nil || sec.Accessed.Before(day) {
		if err := s.db.TouchSecret(ctx, sec.Name, day); err != nil {
			s.log.WarnContext(ctx, "cannot record secret access", "name", sec.Name, "err", err)
		}
	}
	out := &GetSecretValueOutput{
		ARN:           sec.ARN,
		Name:          sec.Name,
		VersionID:     v.ID,
		VersionStages: slices.Clone(v.Stages),
		CreatedDate:   stamp(v.Created),
	}
	if out.VersionStages == nil {
		out.VersionStages = []string{}
	}
	if v.Binary {
		out.SecretBinary = pt
	} else {
		str := string(pt)
		out.SecretString = &str
	}
	return out, nil
}

// DescribeSecretInput is the input of DescribeSecret.
type DescribeSecretInput struct {
	SecretID string `json:"SecretId"`
}

// DescribeSecret returns a secret's metadata, also while it is scheduled
// for deletion.
func (s *Service) DescribeSecret(ctx context.Context, in *DescribeSecretInput) (*model.Secret, error) {
	sec, err := s.db.Secret(ctx, s.key(in.SecretID), s.now())
	if isNotFound(err) {
		return nil, errNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("describe secret %s: %w", in.SecretID, err)
	}
	out := metadata(sec)
	out.VersionIdsToStages = stageMap(sec)
	return out, nil
}

func metadata(sec *store.Secret) *model.Secret {
	out := &model.Secret{
		ARN:             sec.ARN,
		Name:            sec.Name,
		Description:     sec.Description,
		KmsKeyID:        sec.KmsKeyID,
		LastChangedDate: stamp(sec.Changed),
		Tags:            sec.Tags,
		CreatedDate:     stamp(sec.Created),
	}
	if sec.Accessed != nil {
		out.LastAccessedDate = stamp(*sec.Accessed)
	}
	if sec.Deletion != nil {
		out.DeletedDate = stamp(*sec.Deletion)
	}
	return out
}

// stageMap maps the ids of versions that carry a stage to their stages.
func stageMap(sec *store.Secret) map[string][]string {
	m := map[string][]string{}
	for _, v := range sec.Versions {
		if len(v.Stages) > 0 {
			m[v.ID] = v.Stages
		}
	}
	return m
}

// UpdateSecretInput is the input of UpdateSecret.
type UpdateSecretInput struct {
	SecretID           string  `json:"SecretId"`
	ClientRequestToken string  `json:"ClientRequestToken"`
	Description        *string `json:"Description"`
	KmsKeyID           *string `json:"KmsKeyId"`
	SecretBinary       []byte  `json:"SecretBinary"`
	SecretString       *string `json:"SecretString"`
	Type               string  `json:"Type"`
}

// UpdateSecretOutput is the output of UpdateSecret.
type UpdateSecretOutput struct {
	ARN       string `json:"ARN"`
	Name      string `json:"Name"`
	VersionID string `json:"VersionId,omitempty"`
}

// UpdateSecret changes a secret's description or key and, given a value,
// adds a version that becomes AWSCURRENT.
func (s *Service) UpdateSecret(ctx context.Context, in *UpdateSecretInput) (*UpdateSecretOutput, error) {
	val := secretValue{String: in.SecretString, Binary: in.SecretBinary}
	if e := val.check(in.ClientRequestToken); e != nil {
		return nil, e
	}
	now := s.now()
	out := &UpdateSecretOutput{}
	_, err := s.db.EditSecret(ctx, s.key(in.SecretID), now, func(cur *store.Secret) (*store.Secret, error) {
		if cur == nil {
			return nil, errNotFound()
		}
		if cur.Deletion != nil {
			return nil, errMarkedDeleted()
		}
		out.ARN, out.Name = cur.ARN, cur.Name
		if in.Description != nil {
			cur.Description = *in.Description
			cur.Changed = now
		}
		if in.KmsKeyID != nil {
			cur.KmsKeyID = *in.KmsKeyID
			cur.Changed = now
		}
		if val.present() {
			v, err := s.addVersion(cur, in.ClientRequestToken, val, []string{model.StageCurrent}, now)
			if err != nil {
				return nil, err
			}
			out.VersionID = v.ID
		}
		return cur, nil
	})
	if err != nil {
		return nil, clientErr(err, "update secret %s", in.SecretID)
	}
	s.log.InfoContext(ctx, "secret updated", "name", out.Name, "version", out.VersionID)
	return out, nil
}

// ListSecretsFilter is a ListSecrets filter.
type ListSecretsFilter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

// ListSecretsInput is the input of ListSecrets.
type ListSecretsInput struct {
	IncludePlannedDeletion bool                `json:"IncludePlannedDeletion"`
	MaxResults             *int                `json:"MaxResults"`
	NextToken              *string             `json:"NextToken"`
	Filters                []ListSecretsFilter `json:"Filters"`
	SortOrder              string              `json:"SortOrder"`
	SortBy                 string              `json:"SortBy"`
}

// ListSecretsOutput is the output of ListSecrets.
type ListSecretsOutput struct {
	SecretList []*model.Secret `json:"SecretList"`
	NextToken  string          `json:"NextToken,omitempty"`
}

var filterKeys = []string{"description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"}

// ListSecrets lists secrets' metadata (never values), one page at a time.
func (s *Service) ListSecrets(ctx context.Context, in *ListSecretsInput) (*ListSecretsOutput, error) {
	limit := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100", *in.MaxResults)
		}
		limit = *in.MaxResults
	}
	for _, f := range in.Filters {
		if !slices.Contains(filterKeys, f.Key) {
			return nil, validation("1 validation error detected: Value '%s' at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: [%s]", f.Key, strings.Join(filterKeys, ", "))
		}
		if len(f.Values) == 0 {
			return nil, awsapi.Errorf("InvalidParameterException", "Invalid filter values for key: %s", f.Key)
		}
	}
	desc := false
	switch in.SortOrder {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]", in.SortOrder)
	}
	sortKey, e := sorter(in.SortBy)
	if e != nil {
		return nil, e
	}
	all, err := s.db.Secrets(ctx, s.now())
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	var picked []*store.Secret
	for _, sec := range all {
		if sec.Deletion != nil && !in.IncludePlannedDeletion {
			continue
		}
		if matchAll(sec, in.Filters) {
			picked = append(picked, sec)
		}
	}
	cmp := func(ak, an, bk, bn string) int {
		c := strings.Compare(ak, bk)
		if c == 0 {
			c = strings.Compare(an, bn)
		}
		if desc {
			c = -c
		}
		return c
	}
	slices.SortFunc(picked, func(a, b *store.Secret) int { return cmp(sortKey(a), a.Name, sortKey(b), b.Name) })
	start := 0
	if in.NextToken != nil {
		tk, tn, e := decodeToken(*in.NextToken)
		if e != nil {
			return nil, e
		}
		start = len(picked)
		for i, sec := range picked {
			if cmp(sortKey(sec), sec.Name, tk, tn) > 0 {
				start = i
				break
			}
		}
	}
	out := &ListSecretsOutput{SecretList: []*model.Secret{}}
	for _, sec := range picked[start:] {
		if len(out.SecretList) == limit {
			last := picked[start+limit-1]
			out.NextToken = encodeToken(sortKey(last), last.Name)
			break
		}
		m := metadata(sec)
		m.SecretVersionsToStages = stageMap(sec)
		out.SecretList = append(out.SecretList, m)
	}
	return out, nil
}

// sorter returns the sort key function for a SortBy value. Keys of times
// are fixed-width so that they sort as strings.
func sorter(by string) (func(*store.Secret) string, *awsapi.Error) {
	ms := func(t time.Time) string { return fmt.Sprintf("%020d", t.UnixMilli()) }
	switch by {
	case "", "created-date":
		return func(s *store.Secret) string { return ms(s.Created) }, nil
	case "last-changed-date":
		return func(s *store.Secret) string { return ms(s.Changed) }, nil
	case "last-accessed-date":
		return func(s *store.Secret) string {
			if s.Accessed == nil {
				return ms(time.UnixMilli(0))
			}
			return ms(*s.Accessed)
		}, nil
	case "name":
		return func(*store.Secret) string { return "" }, nil // ties broken by name
	}
	return nil, validation("1 validation error detected: Value '%s' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [created-date, last-accessed-date, last-changed-date, name]", by)
}

// matchAll reports whether sec matches every filter. Within a filter a
// value matches when any of the secret's attributes match it; a value
// starting with "!" matches when an attribute does not.
func matchAll(sec *store.Secret, filters []ListSecretsFilter) bool {
	for _, f := range filters {
		var attrs []string
		prefix, fold := true, false
		switch f.Key {
		case "name":
			attrs = []string{sec.Name}
		case "description":
			attrs, fold = []string{sec.Description}, true
			if sec.Description == "" {
				attrs = nil
			}
		case "tag-key":
			for _, t := range sec.Tags {
				attrs = append(attrs, t.Key)
			}
		case "tag-value":
			for _, t := range sec.Tags {
				attrs = append(attrs, t.Value)
			}
		case "all":
			attrs, prefix, fold = []string{sec.Name, sec.Description}, false, true
			for _, t := range sec.Tags {
				attrs = append(attrs, t.Key, t.Value)
			}
		default: // primary-region, owning-service: Hangar's secrets have neither
		}
		if !matchValues(f.Values, attrs, prefix, fold) {
			return false
		}
	}
	return true
}

func matchValues(values, attrs []string, prefix, fold bool) bool {
	match := func(v, a string) bool {
		if fold {
			v, a = strings.ToLower(v), strings.ToLower(a)
		}
		if prefix {
			return strings.HasPrefix(a, v)
		}
		return strings.Contains(a, v)
	}
	for _, v := range values {
		neg, isNeg := strings.CutPrefix(v, "!")
		for _, a := range attrs {
			if isNeg && !match(neg, a) || !isNeg && match(v, a) {
				return true
			}
		}
	}
	return false
}

// DeleteSecretInput is the input of DeleteSecret.
type DeleteSecretInput struct {
	SecretID                   string `json:"SecretId"`
	RecoveryWindowInDays       *int64 `json:"RecoveryWindowInDays"`
	ForceDeleteWithoutRecovery bool   `json:"ForceDeleteWithoutRecovery"`
}

// DeleteSecretOutput is the output of DeleteSecret.
type DeleteSecretOutput struct {
	ARN          string      `json:"ARN"`
	Name         string      `json:"Name"`
	DeletionDate *model.Time `json:"DeletionDate"`
}

// DeleteSecret schedules a secret for deletion after a recovery window (30
// days unless told) or, with ForceDeleteWithoutRecovery, deletes it now.
func (s *Service) DeleteSecret(ctx context.Context, in *DeleteSecretInput) (*DeleteSecretOutput, error) {
	days := int64(30)
	if in.RecoveryWindowInDays != nil {
		days = *in.RecoveryWindowInDays
		if days < 7 || days > 30 {
			return nil, awsapi.Errorf("InvalidParameterException", "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
		}
		if in.ForceDeleteWithoutRecovery {
			return nil, awsapi.Errorf("InvalidParameterException", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
		}
	}
	now := s.now()
	out := &DeleteSecretOutput{}
	_, err := s.db.EditSecret(ctx, s.key(in.SecretID), now, func(cur *store.Secret) (*store.Secret, error) {
		if cur == nil {
			if !in.ForceDeleteWithoutRecovery {
				return nil, errNotFound()
			}
			// Forcing the deletion of what is not there is not an error
			// (documented on ForceDeleteWithoutRecovery).
			out.Name, out.DeletionDate = in.SecretID, stamp(now)
			if k := s.key(in.SecretID); k.ARN != "" {
				out.ARN = k.ARN
				if k.Name != "" {
					out.Name = k.Name
				}
			} else {
				out.ARN = s.names.SecretArn(k.Name, randomSuffix())
			}
			return nil, nil
		}
		out.ARN, out.Name = cur.ARN, cur.Name
		if in.ForceDeleteWithoutRecovery {
			out.DeletionDate = stamp(now)
			return nil, nil
		}
		if cur.Deletion != nil {
			return nil, awsapi.Errorf("InvalidRequestException", msgAlreadyDeleted)
		}
		when := now.Add(time.Duration(days) * 24 * time.Hour)
		cur.Deletion = &when
		out.DeletionDate = stamp(when)
		return cur, nil
	})
	if err != nil {
		return nil, clientErr(err, "delete secret %s", in.SecretID)
	}
	s.log.InfoContext(ctx, "secret deleted", "name", out.Name, "force", in.ForceDeleteWithoutRecovery,
		"recovery_days", strconv.FormatInt(days, 10))
	return out, nil
}

// RestoreSecretInput is the input of RestoreSecret.
type RestoreSecretInput struct {
	SecretID string `json:"SecretId"`
}

// RestoreSecretOutput is the output of RestoreSecret.
type RestoreSecretOutput struct {
	ARN  string `json:"ARN"`
	Name string `json:"Name"`
}

// RestoreSecret cancels a secret's scheduled deletion.
func (s *Service) RestoreSecret(ctx context.Context, in *RestoreSecretInput) (*RestoreSecretOutput, error) {
	out := &RestoreSecretOutput{}
	_, err := s.db.EditSecret(ctx, s.key(in.SecretID), s.now(), func(cur *store.Secret) (*store.Secret, error) {
		if cur == nil {
			return nil, errNotFound()
		}
		cur.Deletion = nil
		out.ARN, out.Name = cur.ARN, cur.Name
		return cur, nil
	})
	if err != nil {
		return nil, clientErr(err, "restore secret %s", in.SecretID)
	}
	s.log.InfoContext(ctx, "secret restored", "name", out.Name)
	return out, nil
}

func isNotFound(err error) bool { return err != nil && errors.Is(err, store.ErrNotFound) }
