// Package model holds Hangar's domain types: projects, builds and their
// phases, fleets, parameters and secrets.
//
// The types marshal to exactly the JSON that the AWS CodeBuild (and SSM,
// Secrets Manager) wire protocols use, so the API layer can send them as they
// are and the store can keep them as JSON without a second representation.
// Members Hangar stores but does not interpret are kept as json.RawMessage and
// echoed back unchanged.
package model
