package secretsmanager

import (
	"context"
	"fmt"
)

// SecretARN returns the full ARN of the secret id names (a name, a full
// ARN or a partial ARN without the random suffix), for authorisation,
// which checks policies against the real ARN. A secret that does not exist
// (or whose deletion time has passed) gives an error wrapping
// store.ErrNotFound.
func (s *Service) SecretARN(ctx context.Context, id string) (string, error) {
	sec, err := s.db.Secret(ctx, s.key(id), s.now())
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", id, err)
	}
	return sec.ARN, nil
}
