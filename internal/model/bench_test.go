package model

import (
	"encoding/json"
	"testing"
)

// benchBuild is a finished build as BatchGetBuilds returns it for a
// `hangar run`: every phase with its times, the overrides, the log
// location. Followers poll for it, so it is the API's most encoded answer.
const benchBuild = `{"id":"app-dev-remote:0b9a4c1e-58d2-4b8f-9a43-3f6f0ad1d2c7",` +
	`"arn":"arn:aws:codebuild:us-east-1:000000000000:build/app-dev-remote:0b9a4c1e-58d2-4b8f-9a43-3f6f0ad1d2c7",` +
	`"buildNumber":42,"startTime":1764220000.123,"endTime":1764220003.456,"currentPhase":"COMPLETED","buildStatus":"SUCCEEDED",` +
	`"projectName":"app-dev-remote","phases":[` +
	`{"phaseType":"SUBMITTED","phaseStatus":"SUCCEEDED","startTime":1764220000.123,"endTime":1764220000.125,"durationInSeconds":0},` +
	`{"phaseType":"QUEUED","phaseStatus":"SUCCEEDED","startTime":1764220000.125,"endTime":1764220000.126,"durationInSeconds":0},` +
	`{"phaseType":"PROVISIONING","phaseStatus":"SUCCEEDED","startTime":1764220000.126,"endTime":1764220000.131,"durationInSeconds":0,` +
	`"contexts":[{"statusCode":"","message":""}]},` +
	`{"phaseType":"DOWNLOAD_SOURCE","phaseStatus":"SUCCEEDED","startTime":1764220000.131,"endTime":1764220000.2,"durationInSeconds":0},` +
	`{"phaseType":"INSTALL","phaseStatus":"SUCCEEDED","startTime":1764220000.2,"endTime":1764220000.2,"durationInSeconds":0},` +
	`{"phaseType":"PRE_BUILD","phaseStatus":"SUCCEEDED","startTime":1764220000.2,"endTime":1764220000.2,"durationInSeconds":0},` +
	`{"phaseType":"BUILD","phaseStatus":"SUCCEEDED","startTime":1764220000.2,"endTime":1764220003.3,"durationInSeconds":3},` +
	`{"phaseType":"POST_BUILD","phaseStatus":"SUCCEEDED","startTime":1764220003.3,"endTime":1764220003.3,"durationInSeconds":0},` +
	`{"phaseType":"UPLOAD_ARTIFACTS","phaseStatus":"SUCCEEDED","startTime":1764220003.3,"endTime":1764220003.3,"durationInSeconds":0},` +
	`{"phaseType":"FINALIZING","phaseStatus":"SUCCEEDED","startTime":1764220003.3,"endTime":1764220003.456,"durationInSeconds":0},` +
	`{"phaseType":"COMPLETED","startTime":1764220003.456}],` +
	`"source":{"type":"S3","location":"hangar-artifacts/sources/4f2a.json","buildspec":"version: 0.2\nphases:\n  build:\n    commands:\n      - make test\n"},` +
	`"artifacts":{"location":""},"cache":{"type":"NO_CACHE"},` +
	`"environment":{"type":"LINUX_CONTAINER","image":"aws/codebuild/amazonlinux2-x86_64-standard:5.0","computeType":"BUILD_GENERAL1_SMALL",` +
	`"environmentVariables":[{"name":"GOFLAGS","value":"-mod=readonly","type":"PLAINTEXT"},{"name":"DB_PASSWORD","value":"/app/db","type":"PARAMETER_STORE"},` +
	`{"name":"TOKEN","value":"prod/token","type":"SECRETS_MANAGER"},{"name":"CI","value":"true","type":"PLAINTEXT"}],` +
	`"privilegedMode":false,"imagePullCredentialsType":"CODEBUILD"},` +
	`"serviceRole":"arn:aws:iam::000000000000:role/hangar-build",` +
	`"logs":{"groupName":"/aws/codebuild/app-dev-remote","streamName":"0b9a4c1e-58d2-4b8f-9a43-3f6f0ad1d2c7",` +
	`"cloudWatchLogsArn":"arn:aws:logs:us-east-1:000000000000:log-group:/aws/codebuild/app-dev-remote:log-stream:0b9a4c1e-58d2-4b8f-9a43-3f6f0ad1d2c7"},` +
	`"timeoutInMinutes":60,"queuedTimeoutInMinutes":480,"buildComplete":true,"initiator":"hangar"}`

// BenchmarkBuildJSON measures encoding that build (what the runner does
// for every BatchGetBuilds) and decoding it.
func BenchmarkBuildJSON(b *testing.B) {
	data := []byte(benchBuild)
	var build Build
	if err := json.Unmarshal(data, &build); err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := json.Marshal(&build); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var out Build
			if err := json.Unmarshal(data, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
