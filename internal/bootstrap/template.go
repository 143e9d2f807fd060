package bootstrap

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/hangarci/hangar/internal/config"
)

// Logical ids of the template's resources.
const (
	cfnBucket        = "Bucket"
	cfnRole          = "CodebuildRole"
	cfnProject       = "Codebuild"
	cfnLambdaProject = "CodebuildLambda"
	cfnFleet         = "CodebuildFleet"
)

type cfnTemplate struct {
	AWSTemplateFormatVersion string                 `json:"AWSTemplateFormatVersion"`
	Description              string                 `json:"Description"`
	Resources                map[string]cfnResource `json:"Resources"`
	Outputs                  map[string]cfnOutput   `json:"Outputs"`
}

type cfnResource struct {
	Type       string         `json:"Type"`
	DependsOn  []string       `json:"DependsOn,omitempty"`
	Properties map[string]any `json:"Properties"`
}

type cfnOutput struct {
	Description string `json:"Description"`
	Value       any    `json:"Value"`
}

func ref(id string) any          { return map[string]any{"Ref": id} }
func getAtt(id, attr string) any { return map[string]any{"Fn::GetAtt": []string{id, attr}} }
func sub(s string) any           { return map[string]any{"Fn::Sub": s} }
func cfnTags(m map[string]string) any {
	out := []map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, map[string]any{"Key": k, "Value": m[k]})
	}
	return out
}

// Template is the desired state of cfg as a CloudFormation template (JSON,
// which is also YAML), for those who deploy infrastructure that way. Names
// are the ones bootstrap uses, and resources carry the same tags, so
// `hangar bootstrap` recognises a stack's resources as its own.
func Template(cfg *config.Config) ([]byte, error) {
	d, err := NewDesired(cfg, "")
	if err != nil {
		return nil, err
	}
	tags := d.managedTags()
	t := cfnTemplate{
		AWSTemplateFormatVersion: "2010-09-09",
		Description:              fmt.Sprintf("hangar runner resources of %s (hangar bootstrap --template)", d.Namespace),
		Resources:                map[string]cfnResource{},
		Outputs:                  map[string]cfnOutput{},
	}

	t.Resources[cfnBucket] = cfnResource{Type: "AWS::S3::Bucket", Properties: map[string]any{
		"BucketName": sub(d.BucketPrefix + "-${AWS::AccountId}-${AWS::Region}"),
		"Tags":       cfnTags(tags),
	}}
	t.Outputs[cfnBucket] = cfnOutput{Description: "Bucket sources are uploaded to", Value: ref(cfnBucket)}

	var policies []any
	for _, ip := range d.Role.Inline {
		var doc any
		if err := json.Unmarshal([]byte(ip.Document), &doc); err != nil {
			return nil, fmt.Errorf("inline policy %s: %w", ip.Name, err)
		}
		policies = append(policies, map[string]any{"PolicyName": ip.Name, "PolicyDocument": doc})
	}
	var trust any
	if err := json.Unmarshal([]byte(d.Role.Trust), &trust); err != nil {
		return nil, fmt.Errorf("trust policy: %w", err)
	}
	role := map[string]any{
		"RoleName":                 d.Role.Name,
		"Path":                     "/",
		"Description":              d.Role.Description,
		"AssumeRolePolicyDocument": trust,
		"Tags":                     cfnTags(tags),
	}
	if len(policies) > 0 {
		role["Policies"] = policies
	}
	if len(d.Role.Managed) > 0 {
		role["ManagedPolicyArns"] = d.Role.Managed
	}
	t.Resources[cfnRole] = cfnResource{Type: "AWS::IAM::Role", Properties: role}
	t.Outputs[cfnRole] = cfnOutput{Description: "Build role", Value: getAtt(cfnRole, "Arn")}

	if f := d.Fleet; f != nil {
		props := map[string]any{
			"Name":             f.Name,
			"BaseCapacity":     f.BaseCapacity,
			"ComputeType":      f.ComputeType,
			"EnvironmentType":  f.EnvironmentType,
			"OverflowBehavior": f.OverflowBehavior,
			"Tags":             cfnTags(tags),
		}
		if f.ComputeConfig != nil {
			props["ComputeConfiguration"] = f.ComputeConfig // camelCase in CloudFormation too
		}
		t.Resources[cfnFleet] = cfnResource{Type: "AWS::CodeBuild::Fleet", Properties: props}
		t.Outputs[cfnFleet] = cfnOutput{Description: "Managed fleet", Value: getAtt(cfnFleet, "Arn")}
	}

	ptags := maps.Clone(tags)
	t.Resources[cfnProject] = cfnProjectResource(&d.Project, ptags, map[string]any{"Ref": cfnBucket})
	t.Outputs[cfnProject] = cfnOutput{Description: "Project builds run in", Value: ref(cfnProject)}
	if d.Lambda != nil {
		t.Resources[cfnLambdaProject] = cfnProjectResource(d.Lambda, tags, nil)
		t.Outputs[cfnLambdaProject] = cfnOutput{Description: "Project on Lambda compute", Value: ref(cfnLambdaProject)}
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode template: %w", err)
	}
	return append(b, '\n'), nil
}

// cfnProjectResource is a project in CloudFormation's PascalCase. bucket,
// when set, is tagged on it the way bootstrap tags <ns>-remote.
func cfnProjectResource(p *ProjectSpec, tags map[string]string, bucket any) cfnResource {
	env := pascalKeys(p.Environment).(map[string]any)
	vars := []any{}
	for _, v := range p.Variables {
		typ := v.Type
		if typ == "" {
			typ = "PLAINTEXT"
		}
		vars = append(vars, map[string]any{"Name": v.Name, "Type": typ, "Value": v.Value})
	}
	if len(vars) > 0 {
		env["EnvironmentVariables"] = vars
	}
	deps := []string{}
	if p.UseFleet {
		env["Fleet"] = map[string]any{"FleetArn": getAtt(cfnFleet, "Arn")}
		deps = append(deps, cfnFleet)
	}
	cache := map[string]any{"Type": p.CacheType}
	if len(p.CacheModes) > 0 {
		cache["Modes"] = p.CacheModes
	}
	tagList := cfnTags(tags).([]map[string]any)
	if bucket != nil {
		tagList = append(tagList, map[string]any{"Key": TagBucket, "Value": bucket})
	}
	props := map[string]any{
		"Name":        p.Name,
		"Description": p.Description,
		"ServiceRole": getAtt(cfnRole, "Arn"),
		"Source":      map[string]any{"Type": "NO_SOURCE", "BuildSpec": placeholderBuildspec},
		"Artifacts":   map[string]any{"Type": "NO_ARTIFACTS"},
		"Environment": env,
		"Cache":       cache,
		"LogsConfig":  map[string]any{"CloudWatchLogs": map[string]any{"Status": "ENABLED"}},
		"Tags":        tagList,
	}
	if p.Timeout > 0 {
		props["TimeoutInMinutes"] = p.Timeout
	}
	r := cfnResource{Type: "AWS::CodeBuild::Project", Properties: props}
	if len(deps) > 0 {
		r.DependsOn = deps
	}
	return r
}

// pascalKeys turns the API's camelCase keys into CloudFormation's
// PascalCase, all the way down.
func pascalKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, c := range v {
			out[upperFirst(k)] = pascalKeys(c)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = pascalKeys(c)
		}
		return out
	}
	return v
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
