// Package awsapi holds the AWS wire protocols Hangar's services speak, so
// the aws CLI, boto3 and the AWS SDKs can drive a runner unchanged:
//
//   - JSON 1.1 (CodeBuild, Logs, SSM, Secrets Manager): JSONService, Handle;
//   - Query (IAM, STS): QueryService, HandleQuery, DecodeForm;
//   - errors in each protocol's shape: Error, WriteJSONError,
//     WriteQueryError, WriteS3Error, WriteError;
//   - request validation against the botocore models embedded in models/
//     (regenerate with go generate): Validator;
//   - Signature Version 4 verification: Authenticate, KeyStore, CallerFrom,
//     ChunkVerifier;
//   - one listener for all of them: Mux.
package awsapi
