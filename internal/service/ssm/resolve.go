package ssm

import (
	"context"
	"fmt"

	"github.com/hangarci/hangar/internal/awsapi"
)

// Resolve returns the decrypted values of parameters, for build variables.
// A name may be a name, an ARN or name:version, as GetParameter takes it.
// values is keyed by the names as given; missing lists, in order, the names
// that are invalid or do not exist. StringList values come back as stored:
// comma-joined, as AWS returns them. err reports only failures of the
// runner itself.
func (s *Service) Resolve(ctx context.Context, names []string) (values map[string]string, missing []string, err error) {
	values = make(map[string]string, len(names))
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		p, err := s.get(ctx, n, true)
		if _, ok := awsapi.AsError(err); ok {
			missing = append(missing, n)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("resolve parameter %s: %w", n, err)
		}
		values[n] = p.Value
	}
	return values, missing, nil
}
