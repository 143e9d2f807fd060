package bootstrap

import "testing"

// Policy documents come back from the target as it likes: reading them for
// the diff must never fail or panic, whatever they hold.
func FuzzPolicySummary(f *testing.F) {
	f.Add(codebuildTrust)
	f.Add(secretsPolicy)
	f.Add("%7B%22Version%22%3A%222012-10-17%22%7D")
	f.Add(`{"Statement":{"Effect":"Deny","NotAction":"s3:*","NotResource":["a"],"Condition":{}}}`)
	f.Add(`{"Statement":[1,"x",null]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		if policySummary(policyText(doc)) == "" {
			t.Errorf("empty summary of %q", doc)
		}
	})
}
