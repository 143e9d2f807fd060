package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/service/s3"
	"github.com/hangarci/hangar/internal/store"
)

// rule maps one operation to the permissions it needs.
type rule struct {
	// action is the IAM action; resources are what it acts on (each gets
	// its own check, as IAM checks every resource of a request).
	action    string
	resources resolver
	// context, when set, adds condition keys the action supplies
	// (s3:prefix, iam:PolicyARN).
	context func(q *request) map[string][]string
	// passRole names a member holding a role the operation hands to
	// CodeBuild: the caller also needs iam:PassRole on it, as on AWS, or a
	// user allowed codebuild:CreateProject could run builds with any role.
	passRole string
	// public operations need no permission at all (sts:GetCallerIdentity
	// works even under an explicit Deny).
	public bool
	// delegated says which service authorises the operation itself, with
	// knowledge only it has (trust policies, per-key results).
	delegated string
}

// resolver works out the resource ARNs of a request.
type resolver func(ctx context.Context, q *request) ([]string, error)

// rules is the mapping of every operation the runner serves, keyed by
// "<iam service prefix>:<operation>". Read-only. TestEveryOperationMapped
// fails when a registered operation is missing here.
var rules = map[string]rule{
	// CodeBuild. Builds are authorised on their project, as CodeBuild
	// does (its build actions take the project resource type).
	"codebuild:CreateProject":        {action: "codebuild:CreateProject", resources: project("name"), passRole: "serviceRole"},
	"codebuild:UpdateProject":        {action: "codebuild:UpdateProject", resources: project("name"), passRole: "serviceRole"},
	"codebuild:DeleteProject":        {action: "codebuild:DeleteProject", resources: project("name")},
	"codebuild:BatchGetProjects":     {action: "codebuild:BatchGetProjects", resources: projects("names")},
	"codebuild:ListProjects":         {action: "codebuild:ListProjects", resources: everything},
	"codebuild:StartBuild":           {action: "codebuild:StartBuild", resources: project("projectName"), passRole: "serviceRoleOverride"},
	"codebuild:StopBuild":            {action: "codebuild:StopBuild", resources: buildProjects("id")},
	"codebuild:RetryBuild":           {action: "codebuild:RetryBuild", resources: buildProjects("id")},
	"codebuild:BatchGetBuilds":       {action: "codebuild:BatchGetBuilds", resources: buildProjects("ids")},
	"codebuild:ListBuilds":           {action: "codebuild:ListBuilds", resources: everything},
	"codebuild:ListBuildsForProject": {action: "codebuild:ListBuildsForProject", resources: project("projectName")},
	"codebuild:BatchDeleteBuilds":    {action: "codebuild:BatchDeleteBuilds", resources: buildProjects("ids")},
	"codebuild:CreateFleet":          {action: "codebuild:CreateFleet", resources: fleets("name"), passRole: "fleetServiceRole"},
	"codebuild:UpdateFleet":          {action: "codebuild:UpdateFleet", resources: fleets("arn"), passRole: "fleetServiceRole"},
	"codebuild:DeleteFleet":          {action: "codebuild:DeleteFleet", resources: fleets("arn")},
	"codebuild:BatchGetFleets":       {action: "codebuild:BatchGetFleets", resources: fleets("names")},
	"codebuild:ListFleets":           {action: "codebuild:ListFleets", resources: everything},

	// CloudWatch Logs: log-group actions on the group, event reads and
	// writes on the stream.
	"logs:GetLogEvents":       {action: "logs:GetLogEvents", resources: logStream()},
	"logs:FilterLogEvents":    {action: "logs:FilterLogEvents", resources: logGroup()},
	"logs:DescribeLogGroups":  {action: "logs:DescribeLogGroups", resources: describeLogGroups},
	"logs:DescribeLogStreams": {action: "logs:DescribeLogStreams", resources: logGroup()},
	"logs:CreateLogGroup":     {action: "logs:CreateLogGroup", resources: logGroup()},
	"logs:CreateLogStream":    {action: "logs:CreateLogStream", resources: logStream()},
	"logs:PutLogEvents":       {action: "logs:PutLogEvents", resources: logStream()},
	"logs:DeleteLogGroup":     {action: "logs:DeleteLogGroup", resources: logGroup()},

	// SSM Parameter Store.
	"ssm:PutParameter":        {action: "ssm:PutParameter", resources: params("Name")},
	"ssm:GetParameter":        {action: "ssm:GetParameter", resources: params("Name")},
	"ssm:GetParameters":       {action: "ssm:GetParameters", resources: params("Names")},
	"ssm:GetParametersByPath": {action: "ssm:GetParametersByPath", resources: params("Path")},
	"ssm:DeleteParameter":     {action: "ssm:DeleteParameter", resources: params("Name")},
	"ssm:DeleteParameters":    {action: "ssm:DeleteParameters", resources: params("Names")},
	"ssm:DescribeParameters":  {action: "ssm:DescribeParameters", resources: everything},
	"ssm:GetParameterHistory": {action: "ssm:GetParameterHistory", resources: params("Name")},

	// Secrets Manager.
	"secretsmanager:CreateSecret":   {action: "secretsmanager:CreateSecret", resources: newSecret("Name")},
	"secretsmanager:PutSecretValue": {action: "secretsmanager:PutSecretValue", resources: secret("SecretId")},
	"secretsmanager:GetSecretValue": {action: "secretsmanager:GetSecretValue", resources: secret("SecretId")},
	"secretsmanager:DescribeSecret": {action: "secretsmanager:DescribeSecret", resources: secret("SecretId")},
	"secretsmanager:UpdateSecret":   {action: "secretsmanager:UpdateSecret", resources: secret("SecretId")},
	"secretsmanager:ListSecrets":    {action: "secretsmanager:ListSecrets", resources: everything},
	"secretsmanager:DeleteSecret":   {action: "secretsmanager:DeleteSecret", resources: secret("SecretId")},
	"secretsmanager:RestoreSecret":  {action: "secretsmanager:RestoreSecret", resources: secret("SecretId")},

	// IAM.
	"iam:CreateRole":               {action: "iam:CreateRole", resources: newIAM("role", "RoleName")},
	"iam:GetRole":                  {action: "iam:GetRole", resources: role("RoleName")},
	"iam:ListRoles":                {action: "iam:ListRoles", resources: everything},
	"iam:DeleteRole":               {action: "iam:DeleteRole", resources: role("RoleName")},
	"iam:UpdateRole":               {action: "iam:UpdateRole", resources: role("RoleName")},
	"iam:UpdateRoleDescription":    {action: "iam:UpdateRoleDescription", resources: role("RoleName")},
	"iam:UpdateAssumeRolePolicy":   {action: "iam:UpdateAssumeRolePolicy", resources: role("RoleName")},
	"iam:TagRole":                  {action: "iam:TagRole", resources: role("RoleName")},
	"iam:UntagRole":                {action: "iam:UntagRole", resources: role("RoleName")},
	"iam:ListRoleTags":             {action: "iam:ListRoleTags", resources: role("RoleName")},
	"iam:PutRolePolicy":            {action: "iam:PutRolePolicy", resources: role("RoleName")},
	"iam:GetRolePolicy":            {action: "iam:GetRolePolicy", resources: role("RoleName")},
	"iam:DeleteRolePolicy":         {action: "iam:DeleteRolePolicy", resources: role("RoleName")},
	"iam:ListRolePolicies":         {action: "iam:ListRolePolicies", resources: role("RoleName")},
	"iam:AttachRolePolicy":         {action: "iam:AttachRolePolicy", resources: role("RoleName"), context: policyARN},
	"iam:DetachRolePolicy":         {action: "iam:DetachRolePolicy", resources: role("RoleName"), context: policyARN},
	"iam:ListAttachedRolePolicies": {action: "iam:ListAttachedRolePolicies", resources: role("RoleName")},
	"iam:PutUserPolicy":            {action: "iam:PutUserPolicy", resources: user("UserName")},
	"iam:GetUserPolicy":            {action: "iam:GetUserPolicy", resources: user("UserName")},
	"iam:DeleteUserPolicy":         {action: "iam:DeleteUserPolicy", resources: user("UserName")},
	"iam:ListUserPolicies":         {action: "iam:ListUserPolicies", resources: user("UserName")},
	"iam:AttachUserPolicy":         {action: "iam:AttachUserPolicy", resources: user("UserName"), context: policyARN},
	"iam:DetachUserPolicy":         {action: "iam:DetachUserPolicy", resources: user("UserName"), context: policyARN},
	"iam:ListAttachedUserPolicies": {action: "iam:ListAttachedUserPolicies", resources: user("UserName")},
	"iam:CreatePolicy":             {action: "iam:CreatePolicy", resources: newIAM("policy", "PolicyName")},
	"iam:GetPolicy":                {action: "iam:GetPolicy", resources: member("PolicyArn")},
	"iam:DeletePolicy":             {action: "iam:DeletePolicy", resources: member("PolicyArn")},
	"iam:ListPolicies":             {action: "iam:ListPolicies", resources: everything},
	"iam:CreatePolicyVersion":      {action: "iam:CreatePolicyVersion", resources: member("PolicyArn")},
	"iam:GetPolicyVersion":         {action: "iam:GetPolicyVersion", resources: member("PolicyArn")},
	"iam:ListPolicyVersions":       {action: "iam:ListPolicyVersions", resources: member("PolicyArn")},
	"iam:DeletePolicyVersion":      {action: "iam:DeletePolicyVersion", resources: member("PolicyArn")},
	"iam:SetDefaultPolicyVersion":  {action: "iam:SetDefaultPolicyVersion", resources: member("PolicyArn")},
	"iam:CreateUser":               {action: "iam:CreateUser", resources: newIAM("user", "UserName")},
	"iam:GetUser":                  {action: "iam:GetUser", resources: user("UserName")},
	"iam:ListUsers":                {action: "iam:ListUsers", resources: everything},
	"iam:DeleteUser":               {action: "iam:DeleteUser", resources: user("UserName")},
	"iam:CreateAccessKey":          {action: "iam:CreateAccessKey", resources: user("UserName")},
	"iam:ListAccessKeys":           {action: "iam:ListAccessKeys", resources: user("UserName")},
	"iam:DeleteAccessKey":          {action: "iam:DeleteAccessKey", resources: user("UserName")},
	"iam:UpdateAccessKey":          {action: "iam:UpdateAccessKey", resources: user("UserName")},

	// STS.
	"sts:GetCallerIdentity": {public: true},
	"sts:AssumeRole":        {delegated: "sts: the role's trust policy, then the caller's sts:AssumeRole when it trusts the account"},

	// S3, by the operation s3.Classify names.
	"s3:" + s3.OpListBuckets:             {action: "s3:ListAllMyBuckets", resources: everything},
	"s3:" + s3.OpGetBucketLocation:       {action: "s3:GetBucketLocation", resources: bucket},
	"s3:" + s3.OpListMultipartUploads:    {action: "s3:ListBucketMultipartUploads", resources: bucket},
	"s3:" + s3.OpListObjectsV2:           {action: "s3:ListBucket", resources: bucket, context: s3Prefix},
	"s3:" + s3.OpListObjects:             {action: "s3:ListBucket", resources: bucket, context: s3Prefix},
	"s3:" + s3.OpHeadBucket:              {action: "s3:ListBucket", resources: bucket},
	"s3:" + s3.OpCreateBucket:            {action: "s3:CreateBucket", resources: bucket},
	"s3:" + s3.OpDeleteBucket:            {action: "s3:DeleteBucket", resources: bucket},
	"s3:" + s3.OpDeleteObjects:           {delegated: "s3: s3:DeleteObject per key, refused keys reported in the result as S3 does"},
	"s3:" + s3.OpListParts:               {action: "s3:ListMultipartUploadParts", resources: object},
	"s3:" + s3.OpGetObject:               {action: "s3:GetObject", resources: object},
	"s3:" + s3.OpHeadObject:              {action: "s3:GetObject", resources: object},
	"s3:" + s3.OpUploadPart:              {action: "s3:PutObject", resources: object},
	"s3:" + s3.OpCopyObject:              {action: "s3:PutObject", resources: object},
	"s3:" + s3.OpPutObject:               {action: "s3:PutObject", resources: object},
	"s3:" + s3.OpAbortMultipartUpload:    {action: "s3:AbortMultipartUpload", resources: object},
	"s3:" + s3.OpDeleteObject:            {action: "s3:DeleteObject", resources: object},
	"s3:" + s3.OpCreateMultipartUpload:   {action: "s3:PutObject", resources: object},
	"s3:" + s3.OpCompleteMultipartUpload: {action: "s3:PutObject", resources: object},
}

// jsonServices maps the X-Amz-Target prefixes of the JSON services to
// their IAM service prefixes. Read-only.
var jsonServices = map[string]string{
	"CodeBuild_20161006": "codebuild",
	"Logs_20140328":      "logs",
	"AmazonSSM":          "ssm",
	"secretsmanager":     "secretsmanager",
}

// checks works out every check of a request under this rule.
func (ru rule) checks(ctx context.Context, q *request) ([]Check, error) {
	res, err := ru.resources(ctx, q)
	if err != nil {
		return nil, err
	}
	if len(res) == 0 {
		// Nothing named (the service will refuse the request): only a
		// caller allowed on every resource gets as far as its refusal.
		res = []string{"*"}
	}
	var extra map[string][]string
	if ru.context != nil {
		extra = ru.context(q)
	}
	out := make([]Check, 0, len(res)+1)
	for _, r := range res {
		out = append(out, Check{Action: ru.action, Resource: r, Context: extra})
	}
	if q.op.Service == "s3" && q.s3.Op == s3.OpCopyObject {
		src, err := copySource(q)
		if err != nil {
			return nil, err
		}
		out = append(out, Check{Action: "s3:GetObject", Resource: src})
	}
	if ru.passRole != "" {
		if role, ok := q.str(ru.passRole); ok && role != "" {
			arn, err := q.roleArn(ctx, role)
			if err != nil {
				return nil, err
			}
			out = append(out, Check{Action: "iam:PassRole", Resource: arn,
				Context: map[string][]string{"iam:PassedToService": {"codebuild.amazonaws.com"}}})
		}
	}
	return out, nil
}

// ---- resolvers ----

// everything is "*", the resource of actions without resource-level
// permissions (List* calls).
func everything(context.Context, *request) ([]string, error) { return []string{"*"}, nil }

// member is a member that holds an ARN already.
func member(name string) resolver {
	return func(_ context.Context, q *request) ([]string, error) {
		v, _ := q.str(name)
		return []string{v}, nil
	}
}

func project(name string) resolver {
	return func(_ context.Context, q *request) ([]string, error) {
		v, _ := q.str(name)
		return []string{q.a.cfg.Names.ProjectArn(model.ProjectNameFromArn(v))}, nil
	}
}

func projects(name string) resolver {
	return func(_ context.Context, q *request) ([]string, error) {
		var out []string
		for _, v := range q.list(name) {
			out = append(out, q.a.cfg.Names.ProjectArn(model.ProjectNameFromArn(v)))
		}
		return dedupe(out), nil
	}
}

// buildProjects gives the projects of build ids (a string or a list).
func buildProjects(name string) resolver {
	return func(_ context.Context, q *request) ([]string, error) {
		var out []string
		for _, id := range q.list(name) {
			p, _, ok := model.SplitBuildID(id)
			if !ok {
				p = id
			}
			out = append(out, q.a.cfg.Names.ProjectArn(p))
		}
		return dedupe(out), nil
	}
}

// fleets gives fleet ARNs by name or ARN: the stored ARN (with its id)
// for fleets that exist, else what the request named.
func fleets(name string) resolver {
	return func(ctx context.Context, q *request) ([]string, error) {
		var out []string
		for _, v := range q.list(name) {
			row, err := q.a.cfg.DB.Fleet(ctx, v)
			switch {
			case err == nil:
				out = append(out, row.Arn)
			case !errors.Is(err, store.ErrNotFound):
				return nil, fmt.Errorf("look up fleet %s: %w", v, err)
			case strings.HasPrefix(v, "arn:"):
				out = append(out, v)
			default:
				out = append(out, strings.TrimSuffix(q.a.cfg.Names.FleetArn(v, ""), ":"))
			}
		}
		return dedupe(out), nil
	}
}

// logGroupName reads logGroupName or logGroupIdentifier (a name or ARN).
func (q *request) logGroupName() string {
	if v, ok := q.str("logGroupName"); ok && v != "" {
		return v
	}
	v, _ := q.str("logGroupIdentifier")
	if strings.HasPrefix(v, "arn:") {
		if _, g, ok := strings.Cut(v, ":log-group:"); ok {
			return strings.TrimSuffix(g, ":*")
		}
	}
	return v
}

func logGroup() resolver {
	return func(_ context.Context, q *request) ([]string, error) {
		return []string{q.a.cfg.Names.LogGroupArn(q.logGroupName())}, nil
	}
}

func logStream() resolver {
	return func(_ context.Context, q *request) ([]string, error) {
		s, _ := q.str("logStreamName")
		return []string{q.a.cfg.Names.LogStreamArn(q.logGroupName(), s)}, nil
	}
}

// describeLogGroups is the resource CloudWatch Logs authorises
// DescribeLogGroups on: the account's log groups, written the way its
// AccessDenied messages show it.
func describeLogGroups(_ context.Context, q *request) ([]string, error) {
	return []string{q.a.cfg.Names.LogGroupArn("") + ":log-stream:"}, nil
}

// params gives parameter ARNs of names, name:selector references or ARNs.
func params(name string) resolver {
	return func(_ context.Context, q *request) ([]string, error) {
		var out []string
		for _, v := range q.list(name) {
			out = append(out, parameterArn(q.a.cfg.Names, v))
		}
		return dedupe(out), nil
	}
}

func parameterArn(n model.Names, ref string) string {
	if rest, ok := strings.CutPrefix(ref, "arn:"); ok {
		// arn:…:parameter/name[:selector]
		if i := strings.Index(rest, ":parameter/"); i >= 0 {
			head, tail := "arn:"+rest[:i+len(":parameter/")], rest[i+len(":parameter/"):]
			name, _, _ := strings.Cut(tail, ":")
			return head + name
		}
		return ref
	}
	name, _, _ := strings.Cut(ref, ":")
	return n.ParameterArn(name)
}

// secret gives the ARN of an existing secret (names and partial ARNs are
// completed); one that does not exist is authorised by what was named,
// so a caller learns nothing about it without permission.
func secret(name string) resolver {
	return func(ctx context.Context, q *request) ([]string, error) {
		id, _ := q.str(name)
		arn, err := q.a.cfg.Secrets.SecretARN(ctx, id)
		switch {
		case err == nil:
			return []string{arn}, nil
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("look up secret %s: %w", id, err)
		case strings.HasPrefix(id, "arn:"):
			return []string{id}, nil
		}
		n := q.a.cfg.Names
		return []string{fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s", n.Region, n.Account, id)}, nil
	}
}

// newSecret is the secret CreateSecret makes, whose random suffix is not
// known yet: "-??????" stands for it, which the patterns AWS documents for
// a secret ("name-??????", "name-*", "name*") all match.
func newSecret(name string) resolver {
	return func(_ context.Context, q *request) ([]string, error) {
		v, _ := q.str(name)
		return []string{q.a.cfg.Names.SecretArn(v, "??????")}, nil
	}
}

// role gives a role's ARN, with its path.
func role(name string) resolver {
	return func(ctx context.Context, q *request) ([]string, error) {
		v, _ := q.str(name)
		arn, err := q.roleArn(ctx, v)
		return []string{arn}, err
	}
}

// roleArn completes a role name (or checks an ARN) into the role's ARN.
func (q *request) roleArn(ctx context.Context, nameOrArn string) (string, error) {
	if strings.HasPrefix(nameOrArn, "arn:") {
		return nameOrArn, nil
	}
	r, err := q.a.cfg.IAM.RoleByArn(ctx, nameOrArn)
	switch {
	case err == nil:
		return q.a.cfg.Names.RoleArn(r.Path, r.Name), nil
	case errors.Is(err, store.ErrNotFound):
		return q.a.cfg.Names.RoleArn("/", nameOrArn), nil
	}
	return "", fmt.Errorf("look up role %s: %w", nameOrArn, err)
}

// user gives a user's ARN, with its path; without the member, the
// caller's own (IAM's calls default to the signing user).
func user(name string) resolver {
	return func(ctx context.Context, q *request) ([]string, error) {
		v, ok := q.str(name)
		if !ok {
			return []string{q.caller.ARN}, nil
		}
		u, err := q.a.cfg.DB.User(ctx, v)
		switch {
		case err == nil:
			return []string{q.a.cfg.Names.UserArn(u.Path, u.Name)}, nil
		case errors.Is(err, store.ErrNotFound):
			return []string{q.a.cfg.Names.UserArn("/", v)}, nil
		}
		return nil, fmt.Errorf("look up user %s: %w", v, err)
	}
}

// newIAM is the ARN of a role, user or policy a Create call makes, with
// the Path it asks for.
func newIAM(kind, name string) resolver {
	return func(_ context.Context, q *request) ([]string, error) {
		v, _ := q.str(name)
		path, ok := q.str("Path")
		if !ok || path == "" {
			path = "/"
		}
		n := q.a.cfg.Names
		switch kind {
		case "role":
			return []string{n.RoleArn(path, v)}, nil
		case "user":
			return []string{n.UserArn(path, v)}, nil
		}
		return []string{n.PolicyArn(path, v)}, nil
	}
}

func policyARN(q *request) map[string][]string {
	v, _ := q.str("PolicyArn")
	return map[string][]string{"iam:PolicyARN": {v}}
}

func bucket(_ context.Context, q *request) ([]string, error) {
	return []string{"arn:aws:s3:::" + q.s3.Bucket}, nil
}

func object(_ context.Context, q *request) ([]string, error) {
	return []string{"arn:aws:s3:::" + q.s3.Bucket + "/" + q.s3.Key}, nil
}

func copySource(q *request) (string, error) {
	b, k, err := s3.CopySourceObject(q.s3.CopySource)
	if err != nil {
		// The copy fails on the same header; authorise the
		// destination alone.
		return "arn:aws:s3:::" + q.s3.Bucket + "/" + q.s3.Key, nil
	}
	return "arn:aws:s3:::" + b + "/" + k, nil
}

func s3Prefix(q *request) map[string][]string {
	v := q.r.URL.Query()
	if !v.Has("prefix") {
		return nil
	}
	return map[string][]string{"s3:prefix": {v.Get("prefix")}}
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
