package iam

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/policy"
)

// managedPolicies is the built-in catalogue of AWS managed policies: every
// one Hangar's defaults name (AmazonSSMReadOnlyAccess,
// AWSCertificateManagerReadOnly) plus AdministratorAccess and
// ReadOnlyAccess, with AWS's ids, versions, dates and documents (from the
// AWS Managed Policy Reference). ReadOnlyAccess is cut down to the
// statements' entries for the services a runner serves (ACM, CodeBuild,
// IAM, CloudWatch Logs, S3, Secrets Manager, SSM, STS); its full text
// names some 400 services.
//
//go:embed managed/policies.json
var managedPolicies []byte

// managedPolicy is one AWS managed policy of the catalogue.
type managedPolicy struct {
	PolicyName       string
	PolicyID         string `json:"PolicyId"`
	Path             string
	DefaultVersionID string `json:"DefaultVersionId"`
	Description      string
	CreateDate       time.Time
	UpdateDate       time.Time
	Document         json.RawMessage

	arn    string
	doc    string // Document as text, served as IAM stores it
	parsed *policy.Policy
}

// catalogue is the parsed managed policy catalogue, keyed by ARN; it is
// read-only after loadCatalogue.
type catalogue struct {
	byArn map[string]*managedPolicy
	arns  []string // sorted by policy name
}

func loadCatalogue() (*catalogue, error) {
	var list []*managedPolicy
	if err := json.Unmarshal(managedPolicies, &list); err != nil {
		return nil, fmt.Errorf("load the managed policy catalogue: %w", err)
	}
	c := &catalogue{byArn: map[string]*managedPolicy{}}
	for _, p := range list {
		var doc bytes.Buffer
		if err := json.Indent(&doc, p.Document, "", "    "); err != nil {
			return nil, fmt.Errorf("managed policy %s: %w", p.PolicyName, err)
		}
		p.doc = doc.String()
		parsed, err := policy.ParseKind(doc.Bytes(), policy.Identity)
		if err != nil {
			return nil, fmt.Errorf("managed policy %s: %w", p.PolicyName, err)
		}
		p.parsed = parsed
		p.arn = "arn:aws:iam::aws:policy" + p.Path + p.PolicyName
		c.byArn[p.arn] = p
		c.arns = append(c.arns, p.arn)
	}
	sort.Slice(c.arns, func(i, j int) bool { return c.byArn[c.arns[i]].PolicyName < c.byArn[c.arns[j]].PolicyName })
	return c, nil
}

// lookup returns the AWS managed policy of an ARN.
func (c *catalogue) lookup(arn string) (*managedPolicy, bool) {
	p, ok := c.byArn[arn]
	return p, ok
}

// isAWSManaged reports whether an ARN names an AWS managed policy (known
// or not).
func isAWSManaged(arn string) bool {
	a, ok := model.ParseIAMArn(arn)
	return ok && a.Type == "policy" && a.Account == "aws"
}
