package integration

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// TestSDK drives every operation with the AWS SDK for Go v2. A "minute" of
// build timeouts lasts 200 ms on this runner, so timeouts can be seen.
func TestSDK(t *testing.T) {
	r := StartRunner(t, "--minute", "200ms")
	t.Run("Projects", func(t *testing.T) { sdkProjects(t, r) })
	t.Run("ListProjects", func(t *testing.T) { sdkListProjects(t, r) })
	t.Run("Builds", func(t *testing.T) { sdkBuilds(t, r) })
	t.Run("StartBuildOverrides", func(t *testing.T) { sdkOverrides(t, r) })
	t.Run("ListBuildsPaging", func(t *testing.T) { sdkListBuildsPaging(t, r) })
	t.Run("Logs", func(t *testing.T) { sdkLogs(t, r) })
	t.Run("SSM", func(t *testing.T) { sdkSSM(t, r) })
	t.Run("SecretsManager", func(t *testing.T) { sdkSecrets(t, r) })
	t.Run("S3", func(t *testing.T) { sdkS3(t, r) })
	t.Run("Auth", func(t *testing.T) { sdkAuth(t, r) })
}

var bg = context.Background()

const testImage = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"
const testRole = "arn:aws:iam::000000000000:role/hangar-test"

func projectInput(name, spec string) *codebuild.CreateProjectInput {
	return &codebuild.CreateProjectInput{
		Name:        aws.String(name),
		Source:      &types.ProjectSource{Type: types.SourceTypeNoSource, Buildspec: aws.String(spec)},
		Artifacts:   &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts},
		Environment: &types.ProjectEnvironment{Type: types.EnvironmentTypeLinuxContainer, Image: aws.String(testImage), ComputeType: types.ComputeTypeBuildGeneral1Small},
		ServiceRole: aws.String(testRole),
	}
}

func projectArn(name string) string {
	return "arn:aws:codebuild:us-east-1:" + Account + ":project/" + name
}

func sdkProjects(t *testing.T, r *Runner) {
	cb := r.CodeBuild()
	before := time.Now().Add(-time.Second)
	out, err := cb.CreateProject(bg, projectInput("sdk-proj", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := out.Project
	// What CodeBuild fills in on a project it saves.
	checks := []struct {
		what      string
		got, want any
	}{
		{"name", aws.ToString(p.Name), "sdk-proj"},
		{"arn", aws.ToString(p.Arn), projectArn("sdk-proj")},
		{"timeoutInMinutes", aws.ToInt32(p.TimeoutInMinutes), int32(60)},
		{"queuedTimeoutInMinutes", aws.ToInt32(p.QueuedTimeoutInMinutes), int32(480)},
		{"encryptionKey", aws.ToString(p.EncryptionKey), "arn:aws:kms:us-east-1:" + Account + ":alias/aws/s3"},
		{"cache.type", p.Cache.Type, types.CacheTypeNoCache},
		{"logsConfig.cloudWatchLogs.status", p.LogsConfig.CloudWatchLogs.Status, types.LogsConfigStatusTypeEnabled},
		{"logsConfig.s3Logs.status", p.LogsConfig.S3Logs.Status, types.LogsConfigStatusTypeDisabled},
		{"environment.privilegedMode", aws.ToBool(p.Environment.PrivilegedMode), false},
		{"environment.imagePullCredentialsType", p.Environment.ImagePullCredentialsType, types.ImagePullCredentialsTypeCodebuild},
		{"environment.image", aws.ToString(p.Environment.Image), testImage},
		{"serviceRole", aws.ToString(p.ServiceRole), testRole},
		{"source.type", p.Source.Type, types.SourceTypeNoSource},
		{"badge.badgeEnabled", p.Badge != nil && p.Badge.BadgeEnabled, false},
		{"projectVisibility", p.ProjectVisibility, types.ProjectVisibilityTypePrivate},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("created project %s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if p.Created == nil || p.Created.Before(before) || p.Created.After(time.Now().Add(time.Second)) {
		t.Errorf("created = %v, want about now", p.Created)
	}

	t.Run("AlreadyExists", func(t *testing.T) {
		_, err := cb.CreateProject(bg, projectInput("sdk-proj", "version: 0.2"))
		WantAPIError(t, err, "ResourceAlreadyExistsException", "Project already exists: "+projectArn("sdk-proj"))
	})
	t.Run("InvalidName", func(t *testing.T) {
		_, err := cb.CreateProject(bg, projectInput("-bad name", "version: 0.2"))
		WantAPIError(t, err, "InvalidInputException", `Value '-bad name' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9\-_]{1,149}`)
	})
	t.Run("MissingRequired", func(t *testing.T) {
		in := projectInput("sdk-noservicerole", "version: 0.2")
		in.ServiceRole = nil
		_, err := cb.CreateProject(bg, in, func(o *codebuild.Options) { o.APIOptions = append(o.APIOptions, NoClientValidation) })
		WantAPIError(t, err, "InvalidInputException", "Value null at 'serviceRole' failed to satisfy constraint: Member must not be null")
	})
	t.Run("TimeoutOutOfRange", func(t *testing.T) {
		in := projectInput("sdk-timeout", "version: 0.2")
		in.TimeoutInMinutes = aws.Int32(2161)
		_, err := cb.CreateProject(bg, in)
		WantAPIError(t, err, "InvalidInputException", "Value '2161' at 'timeoutInMinutes' failed to satisfy constraint: Member must have value less than or equal to 2160")
	})
	t.Run("LambdaComputeOnContainer", func(t *testing.T) {
		in := projectInput("sdk-lambda", "version: 0.2")
		in.Environment.ComputeType = types.ComputeTypeBuildLambda1gb
		_, err := cb.CreateProject(bg, in)
		WantAPIError(t, err, "InvalidInputException", "BUILD_LAMBDA_1GB")
	})
	t.Run("NotCreated", func(t *testing.T) {
		out, err := cb.BatchGetProjects(bg, &codebuild.BatchGetProjectsInput{Names: []string{"sdk-noservicerole", "-bad name", "sdk-timeout", "sdk-lambda"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Projects) != 0 || len(out.ProjectsNotFound) != 4 {
			t.Fatalf("refused projects exist: %d found, not found %v", len(out.Projects), out.ProjectsNotFound)
		}
	})

	t.Run("UpdateProject", func(t *testing.T) {
		time.Sleep(5 * time.Millisecond) // lastModified moves on
		up, err := cb.UpdateProject(bg, &codebuild.UpdateProjectInput{
			Name:             aws.String("sdk-proj"),
			Description:      aws.String("updated"),
			TimeoutInMinutes: aws.Int32(30),
		})
		if err != nil {
			t.Fatal(err)
		}
		q := up.Project
		if aws.ToString(q.Description) != "updated" || aws.ToInt32(q.TimeoutInMinutes) != 30 {
			t.Errorf("update not applied: description %q timeout %d", aws.ToString(q.Description), aws.ToInt32(q.TimeoutInMinutes))
		}
		// Members the update did not name stay as they were.
		if aws.ToString(q.Source.Buildspec) != aws.ToString(p.Source.Buildspec) || aws.ToString(q.Environment.Image) != testImage ||
			aws.ToInt32(q.QueuedTimeoutInMinutes) != 480 || aws.ToString(q.ServiceRole) != testRole {
			t.Errorf("partial update changed other members: %+v", q)
		}
		if !q.Created.Equal(*p.Created) || !q.LastModified.After(*p.Created) {
			t.Errorf("created %v lastModified %v, want created unchanged (%v) and lastModified later", q.Created, q.LastModified, p.Created)
		}
		got, err := cb.BatchGetProjects(bg, &codebuild.BatchGetProjectsInput{Names: []string{"sdk-proj"}})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(got.Projects[0].Description) != "updated" {
			t.Errorf("update not stored: %q", aws.ToString(got.Projects[0].Description))
		}
		_, err = cb.UpdateProject(bg, &codebuild.UpdateProjectInput{Name: aws.String("sdk-missing"), Description: aws.String("x")})
		WantAPIError(t, err, "ResourceNotFoundException", "Project cannot be found: "+projectArn("sdk-missing"))
	})

	t.Run("BatchGetProjects", func(t *testing.T) {
		out, err := cb.BatchGetProjects(bg, &codebuild.BatchGetProjectsInput{Names: []string{projectArn("sdk-proj"), "sdk-missing", "sdk-proj"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Projects) < 1 || aws.ToString(out.Projects[0].Name) != "sdk-proj" {
			t.Fatalf("projects by ARN and name = %+v", out.Projects)
		}
		if !slices.Equal(out.ProjectsNotFound, []string{"sdk-missing"}) {
			t.Errorf("projectsNotFound = %v, want [sdk-missing]", out.ProjectsNotFound)
		}
		_, err = cb.BatchGetProjects(bg, &codebuild.BatchGetProjectsInput{Names: []string{}}, func(o *codebuild.Options) { o.APIOptions = append(o.APIOptions, NoClientValidation) })
		WantAPIError(t, err, "InvalidInputException", "Member must have length greater than or equal to 1")
	})

	t.Run("DeleteProject", func(t *testing.T) {
		if _, err := cb.CreateProject(bg, projectInput("sdk-del", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo bye\n")); err != nil {
			t.Fatal(err)
		}
		sb, err := cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-del")})
		if err != nil {
			t.Fatal(err)
		}
		WaitBuild(t, cb, aws.ToString(sb.Build.Id), 30*time.Second)
		for i := 0; i < 2; i++ { // idempotent
			if _, err := cb.DeleteProject(bg, &codebuild.DeleteProjectInput{Name: aws.String("sdk-del")}); err != nil {
				t.Fatalf("delete %d: %v", i, err)
			}
		}
		_, err = cb.ListBuildsForProject(bg, &codebuild.ListBuildsForProjectInput{ProjectName: aws.String("sdk-del")})
		WantAPIError(t, err, "ResourceNotFoundException", "sdk-del")
		got, err := cb.BatchGetProjects(bg, &codebuild.BatchGetProjectsInput{Names: []string{"sdk-del"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Projects) != 0 || !slices.Equal(got.ProjectsNotFound, []string{"sdk-del"}) {
			t.Errorf("deleted project still found: %+v", got)
		}
		_, err = cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-del")})
		WantAPIError(t, err, "ResourceNotFoundException", "Project cannot be found: "+projectArn("sdk-del"))

		// A build still running when its project is deleted keeps its
		// number: the project made again does not hand it out twice.
		CreateProject(t, cb, "sdk-del", sleepSpec)
		running := sdkStart(t, cb, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-del")})
		if _, err := cb.DeleteProject(bg, &codebuild.DeleteProjectInput{Name: aws.String("sdk-del")}); err != nil {
			t.Fatal(err)
		}
		CreateProject(t, cb, "sdk-del", sleepSpec)
		next := sdkStart(t, cb, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-del")})
		if aws.ToInt64(next.BuildNumber) <= aws.ToInt64(running.BuildNumber) {
			t.Errorf("build number %d after a running build numbered %d", aws.ToInt64(next.BuildNumber), aws.ToInt64(running.BuildNumber))
		}
		for _, b := range []types.Build{running, next} {
			if _, err := cb.StopBuild(bg, &codebuild.StopBuildInput{Id: b.Id}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func sdkListProjects(t *testing.T, r *Runner) {
	cb := r.CodeBuild()
	var made []string
	for i := 0; i < 105; i++ {
		name := fmt.Sprintf("lp-%03d", i)
		if _, err := cb.CreateProject(bg, projectInput(name, "version: 0.2")); err != nil {
			t.Fatal(err)
		}
		made = append(made, name)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := cb.UpdateProject(bg, &codebuild.UpdateProjectInput{Name: aws.String("lp-050"), Description: aws.String("touched")}); err != nil {
		t.Fatal(err)
	}
	list := func(by types.ProjectSortByType, order types.SortOrderType) []string {
		t.Helper()
		var names []string
		var token *string
		for pages := 0; ; pages++ {
			out, err := cb.ListProjects(bg, &codebuild.ListProjectsInput{SortBy: by, SortOrder: order, NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			if out.NextToken != nil && len(out.Projects) != 100 {
				t.Fatalf("page %d has %d projects and a nextToken, want 100", pages, len(out.Projects))
			}
			names = append(names, out.Projects...)
			if out.NextToken == nil {
				return names
			}
			token = out.NextToken
		}
	}
	only := func(names []string) []string {
		return slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, "lp-") })
	}
	byName := list(types.ProjectSortByTypeName, types.SortOrderTypeAscending)
	if !slices.IsSorted(byName) || len(only(slices.Clone(byName))) != 105 {
		t.Errorf("NAME ASCENDING: %d names, sorted %v", len(byName), slices.IsSorted(byName))
	}
	desc := list(types.ProjectSortByTypeName, types.SortOrderTypeDescending)
	slices.Reverse(desc)
	if !slices.Equal(desc, byName) {
		t.Errorf("NAME DESCENDING is not NAME ASCENDING reversed")
	}
	created := only(list(types.ProjectSortByTypeCreatedTime, types.SortOrderTypeAscending))
	if !slices.Equal(created, made) {
		t.Errorf("CREATED_TIME ASCENDING = %v…, want creation order", created[:5])
	}
	modified := only(list(types.ProjectSortByTypeLastModifiedTime, types.SortOrderTypeDescending))
	if len(modified) == 0 || modified[0] != "lp-050" {
		t.Errorf("LAST_MODIFIED_TIME DESCENDING starts %v, want lp-050 first", modified[:3])
	}
	// The SDK's paginator follows the same tokens.
	pg := codebuild.NewListProjectsPaginator(cb, &codebuild.ListProjectsInput{SortBy: types.ProjectSortByTypeName})
	var all []string
	for pg.HasMorePages() {
		out, err := pg.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out.Projects...)
	}
	if !slices.Equal(all, byName) {
		t.Errorf("paginator: %d names, want %d", len(all), len(byName))
	}
	_, err := cb.ListProjects(bg, &codebuild.ListProjectsInput{NextToken: aws.String("garbage!")})
	WantAPIError(t, err, "InvalidInputException", "Invalid next token")
	_, err = cb.ListProjects(bg, &codebuild.ListProjectsInput{SortBy: "SIZE"})
	WantAPIError(t, err, "InvalidInputException", "Member must satisfy enum value set")
}

// buildIDRE matches a build id of project p.
func buildIDRE(p string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(p) + `:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
}

func phaseOf(b types.Build, p types.BuildPhaseType) *types.BuildPhase {
	for i := range b.Phases {
		if b.Phases[i].PhaseType == p {
			return &b.Phases[i]
		}
	}
	return nil
}

func sdkStart(t *testing.T, cb *codebuild.Client, in *codebuild.StartBuildInput) types.Build {
	t.Helper()
	out, err := cb.StartBuild(bg, in)
	if err != nil {
		t.Fatalf("start build of %s: %v", aws.ToString(in.ProjectName), err)
	}
	return *out.Build
}

const sleepSpec = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 60\n"

func sdkBuilds(t *testing.T, r *Runner) {
	cb := r.CodeBuild()
	CreateProject(t, cb, "sdk-build", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo built $CODEBUILD_BUILD_NUMBER\n")

	b1 := sdkStart(t, cb, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-build")})
	t.Run("StartBuildShape", func(t *testing.T) {
		if !buildIDRE("sdk-build").MatchString(aws.ToString(b1.Id)) {
			t.Errorf("id %q is not project:uuid", aws.ToString(b1.Id))
		}
		if want := "arn:aws:codebuild:us-east-1:" + Account + ":build/" + aws.ToString(b1.Id); aws.ToString(b1.Arn) != want {
			t.Errorf("arn %q, want %q", aws.ToString(b1.Arn), want)
		}
		if aws.ToInt64(b1.BuildNumber) != 1 || b1.BuildStatus != types.StatusTypeInProgress || b1.BuildComplete ||
			aws.ToString(b1.CurrentPhase) != "QUEUED" || aws.ToString(b1.ProjectName) != "sdk-build" {
			t.Errorf("fresh build: number %d status %s complete %v phase %s", aws.ToInt64(b1.BuildNumber), b1.BuildStatus, b1.BuildComplete, aws.ToString(b1.CurrentPhase))
		}
		if len(b1.Phases) != 2 || b1.Phases[0].PhaseType != types.BuildPhaseTypeSubmitted || b1.Phases[0].PhaseStatus != types.StatusTypeSucceeded ||
			b1.Phases[1].PhaseType != types.BuildPhaseTypeQueued || b1.Phases[1].EndTime != nil {
			t.Errorf("fresh build phases = %+v, want SUBMITTED done and QUEUED open", b1.Phases)
		}
		if !strings.Contains(aws.ToString(b1.Logs.CloudWatchLogsArn), ":log-group:null:log-stream:null") {
			t.Errorf("fresh build cloudWatchLogsArn = %q, want the null placeholder", aws.ToString(b1.Logs.CloudWatchLogsArn))
		}
		if aws.ToInt32(b1.TimeoutInMinutes) != 60 || aws.ToInt32(b1.QueuedTimeoutInMinutes) != 480 {
			t.Errorf("timeouts %d/%d, want the project's 60/480", aws.ToInt32(b1.TimeoutInMinutes), aws.ToInt32(b1.QueuedTimeoutInMinutes))
		}
	})
	done1 := WaitBuild(t, cb, aws.ToString(b1.Id), 30*time.Second)
	t.Run("FinishedBuild", func(t *testing.T) {
		b := done1
		if b.BuildStatus != types.StatusTypeSucceeded || aws.ToString(b.CurrentPhase) != "COMPLETED" || b.EndTime == nil || b.EndTime.Before(*b.StartTime) {
			t.Fatalf("finished build: status %s phase %s start %v end %v", b.BuildStatus, aws.ToString(b.CurrentPhase), b.StartTime, b.EndTime)
		}
		_, uuid, _ := strings.Cut(aws.ToString(b.Id), ":")
		if aws.ToString(b.Logs.GroupName) != "/aws/codebuild/sdk-build" || aws.ToString(b.Logs.StreamName) != uuid {
			t.Errorf("logs at %s/%s, want /aws/codebuild/sdk-build/%s", aws.ToString(b.Logs.GroupName), aws.ToString(b.Logs.StreamName), uuid)
		}
		wantArn := "arn:aws:logs:us-east-1:" + Account + ":log-group:/aws/codebuild/sdk-build:log-stream:" + uuid
		if aws.ToString(b.Logs.CloudWatchLogsArn) != wantArn {
			t.Errorf("cloudWatchLogsArn %q, want %q", aws.ToString(b.Logs.CloudWatchLogsArn), wantArn)
		}
		var order []types.BuildPhaseType
		for _, p := range b.Phases {
			order = append(order, p.PhaseType)
		}
		want := []types.BuildPhaseType{"SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"}
		if !slices.Equal(order, want) {
			t.Errorf("phases %v, want %v", order, want)
		}
		if !slices.Contains(BuildLog(t, r, b), "built 1") {
			t.Errorf("log lacks the command's output")
		}
	})

	t.Run("StopBuild", func(t *testing.T) {
		CreateProject(t, cb, "sdk-stop", sleepSpec)
		b := sdkStart(t, cb, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-stop")})
		waitBuildPhase(t, cb, aws.ToString(b.Id), "BUILD")
		out, err := cb.StopBuild(bg, &codebuild.StopBuildInput{Id: b.Id})
		if err != nil {
			t.Fatal(err)
		}
		s := *out.Build
		if !s.BuildComplete || s.BuildStatus != types.StatusTypeStopped {
			s = WaitBuild(t, cb, aws.ToString(b.Id), 10*time.Second)
		}
		if s.BuildStatus != types.StatusTypeStopped {
			t.Fatalf("stopped build status %s", s.BuildStatus)
		}
		if p := phaseOf(s, types.BuildPhaseTypeBuild); p == nil || p.PhaseStatus != types.StatusTypeStopped {
			t.Errorf("BUILD phase after stop = %+v, want STOPPED", p)
		}
		// Stopping a finished build returns it as it is.
		again, err := cb.StopBuild(bg, &codebuild.StopBuildInput{Id: done1.Id})
		if err != nil {
			t.Fatal(err)
		}
		if again.Build.BuildStatus != types.StatusTypeSucceeded || !again.Build.EndTime.Equal(*done1.EndTime) {
			t.Errorf("StopBuild of a finished build changed it: %s %v", again.Build.BuildStatus, again.Build.EndTime)
		}
		_, err = cb.StopBuild(bg, &codebuild.StopBuildInput{Id: aws.String("not-a-build-id")})
		WantAPIError(t, err, "InvalidInputException", "Invalid build ID provided")
		_, err = cb.StopBuild(bg, &codebuild.StopBuildInput{Id: aws.String("sdk-build:00000000-0000-4000-8000-000000000000")})
		WantAPIError(t, err, "ResourceNotFoundException", "sdk-build:00000000-0000-4000-8000-000000000000")
	})

	t.Run("TimedOut", func(t *testing.T) {
		// timeoutInMinutesOverride 5 is one second on this runner.
		b := sdkStart(t, cb, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-stop"), TimeoutInMinutesOverride: aws.Int32(5)})
		if aws.ToInt32(b.TimeoutInMinutes) != 5 {
			t.Errorf("timeoutInMinutes %d, want the override 5", aws.ToInt32(b.TimeoutInMinutes))
		}
		d := WaitBuild(t, cb, aws.ToString(b.Id), 20*time.Second)
		if d.BuildStatus != types.StatusTypeTimedOut {
			t.Errorf("status %s, want TIMED_OUT", d.BuildStatus)
		}
		_, err := cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-stop"), TimeoutInMinutesOverride: aws.Int32(4)})
		WantAPIError(t, err, "InvalidInputException", "Member must have value greater than or equal to 5")
	})

	b2 := sdkStart(t, cb, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-build")})
	done2 := WaitBuild(t, cb, aws.ToString(b2.Id), 30*time.Second)

	t.Run("RetryBuild", func(t *testing.T) {
		out, err := cb.RetryBuild(bg, &codebuild.RetryBuildInput{Id: b2.Id})
		if err != nil {
			t.Fatal(err)
		}
		rb := *out.Build
		if aws.ToString(rb.Id) == aws.ToString(b2.Id) || !buildIDRE("sdk-build").MatchString(aws.ToString(rb.Id)) {
			t.Errorf("retry id %q, want a new id of sdk-build", aws.ToString(rb.Id))
		}
		if aws.ToInt64(rb.BuildNumber) != 3 {
			t.Errorf("retry buildNumber %d, want 3", aws.ToInt64(rb.BuildNumber))
		}
		d := WaitBuild(t, cb, aws.ToString(rb.Id), 30*time.Second)
		if d.BuildStatus != types.StatusTypeSucceeded || !slices.Contains(BuildLog(t, r, d), "built 3") {
			t.Errorf("retried build: %s", d.BuildStatus)
		}
		_, err = cb.RetryBuild(bg, &codebuild.RetryBuildInput{Id: aws.String("nope")})
		WantAPIError(t, err, "InvalidInputException", "Invalid build ID provided")
		_, err = cb.RetryBuild(bg, &codebuild.RetryBuildInput{Id: aws.String("sdk-build:00000000-0000-4000-8000-000000000000")})
		WantAPIError(t, err, "ResourceNotFoundException", "does not exist")
	})

	t.Run("BatchGetBuilds", func(t *testing.T) {
		missing := "sdk-build:00000000-0000-4000-8000-000000000000"
		out, err := cb.BatchGetBuilds(bg, &codebuild.BatchGetBuildsInput{Ids: []string{aws.ToString(b2.Id), missing, aws.ToString(done1.Arn)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Builds) != 2 || aws.ToString(out.Builds[0].Id) != aws.ToString(b2.Id) || aws.ToString(out.Builds[1].Id) != aws.ToString(done1.Id) {
			t.Fatalf("builds out of the asked order: %d builds", len(out.Builds))
		}
		if !slices.Equal(out.BuildsNotFound, []string{missing}) {
			t.Errorf("buildsNotFound %v, want [%s]", out.BuildsNotFound, missing)
		}
		if !out.Builds[0].EndTime.Equal(*done2.EndTime) {
			t.Errorf("endTime %v, want %v", out.Builds[0].EndTime, done2.EndTime)
		}
		// Timestamps are JSON numbers of epoch seconds on the wire.
		raw := r.JSONCall("CodeBuild_20161006.BatchGetBuilds", []byte(`{"ids":["`+aws.ToString(b2.Id)+`"]}`))
		if raw.Status != 200 {
			t.Fatalf("raw BatchGetBuilds: %d %s", raw.Status, raw.Body)
		}
		dec := json.NewDecoder(bytes.NewReader(raw.Body))
		dec.UseNumber()
		var doc struct {
			Builds []struct {
				StartTime, EndTime any
				Phases             []struct{ StartTime, EndTime, DurationInSeconds any }
			}
		}
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		b := doc.Builds[0]
		for _, v := range []any{b.StartTime, b.EndTime, b.Phases[0].StartTime, b.Phases[0].EndTime, b.Phases[0].DurationInSeconds} {
			if _, ok := v.(json.Number); !ok {
				t.Errorf("timestamp %v (%T) is not a JSON number:\n%s", v, v, raw.Body)
			}
		}
		if n := b.StartTime.(json.Number); !regexp.MustCompile(`^1\d{9}(\.\d{1,3})?$`).MatchString(n.String()) {
			t.Errorf("startTime %s is not epoch seconds", n)
		}
		_, err = cb.BatchGetBuilds(bg, &codebuild.BatchGetBuildsInput{Ids: make([]string, 101)})
		WantAPIError(t, err, "InvalidInputException", "Member must have length less than or equal to 100")
	})

	t.Run("ListBuildsForProject", func(t *testing.T) {
		out, err := cb.ListBuildsForProject(bg, &codebuild.ListBuildsForProjectInput{ProjectName: aws.String("sdk-build")})
		if err != nil {
			t.Fatal(err)
		}
		nums := buildNumbers(t, cb, out.Ids)
		if !slices.Equal(nums, []int64{3, 2, 1}) {
			t.Errorf("default order %v, want [3 2 1]", nums)
		}
		out, err = cb.ListBuildsForProject(bg, &codebuild.ListBuildsForProjectInput{ProjectName: aws.String("sdk-build"), SortOrder: types.SortOrderTypeAscending})
		if err != nil {
			t.Fatal(err)
		}
		if nums := buildNumbers(t, cb, out.Ids); !slices.Equal(nums, []int64{1, 2, 3}) {
			t.Errorf("ASCENDING %v, want [1 2 3]", nums)
		}
		_, err = cb.ListBuildsForProject(bg, &codebuild.ListBuildsForProjectInput{ProjectName: aws.String("sdk-missing")})
		WantAPIError(t, err, "ResourceNotFoundException", "sdk-missing")
	})

	t.Run("ListBuilds", func(t *testing.T) {
		out, err := cb.ListBuilds(bg, &codebuild.ListBuildsInput{})
		if err != nil {
			t.Fatal(err)
		}
		asc, err := cb.ListBuilds(bg, &codebuild.ListBuildsInput{SortOrder: types.SortOrderTypeAscending})
		if err != nil {
			t.Fatal(err)
		}
		rev := slices.Clone(asc.Ids)
		slices.Reverse(rev)
		if len(out.Ids) < 5 || !slices.Equal(out.Ids, rev) {
			t.Errorf("ListBuilds DESCENDING %v is not ASCENDING reversed %v", out.Ids, asc.Ids)
		}
		if !slices.Contains(out.Ids, aws.ToString(b1.Id)) || slices.Index(out.Ids, aws.ToString(b2.Id)) > slices.Index(out.Ids, aws.ToString(b1.Id)) {
			t.Errorf("ListBuilds does not list newest first: %v", out.Ids)
		}
	})

	t.Run("BatchDeleteBuilds", func(t *testing.T) {
		running := sdkStart(t, cb, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-stop")})
		missing := "sdk-build:00000000-0000-4000-8000-000000000000"
		out, err := cb.BatchDeleteBuilds(bg, &codebuild.BatchDeleteBuildsInput{Ids: []string{aws.ToString(done1.Id), aws.ToString(running.Id), missing}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.BuildsDeleted, []string{aws.ToString(done1.Id)}) {
			t.Errorf("buildsDeleted %v, want only the finished build", out.BuildsDeleted)
		}
		notDeleted := map[string]string{}
		for _, n := range out.BuildsNotDeleted {
			notDeleted[aws.ToString(n.Id)] = aws.ToString(n.StatusCode)
		}
		if len(notDeleted) != 2 || notDeleted[aws.ToString(running.Id)] != "BUILD_IN_PROGRESS" || notDeleted[missing] != "BUILD_NOT_FOUND" {
			t.Errorf("buildsNotDeleted %v", notDeleted)
		}
		got, err := cb.BatchGetBuilds(bg, &codebuild.BatchGetBuildsInput{Ids: []string{aws.ToString(done1.Id), aws.ToString(running.Id)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Builds) != 1 || aws.ToString(got.Builds[0].Id) != aws.ToString(running.Id) {
			t.Errorf("after delete: %d builds, not found %v", len(got.Builds), got.BuildsNotFound)
		}
		if _, err := cb.StopBuild(bg, &codebuild.StopBuildInput{Id: running.Id}); err != nil {
			t.Fatal(err)
		}
		// Build numbers go on after deleted builds, never reused.
		list, err := cb.ListBuildsForProject(bg, &codebuild.ListBuildsForProjectInput{ProjectName: aws.String("sdk-build")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cb.BatchDeleteBuilds(bg, &codebuild.BatchDeleteBuildsInput{Ids: list.Ids}); err != nil {
			t.Fatal(err)
		}
		b := sdkStart(t, cb, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-build")})
		if aws.ToInt64(b.BuildNumber) != 4 {
			t.Errorf("buildNumber after deleting every build = %d, want 4", aws.ToInt64(b.BuildNumber))
		}
		WaitBuild(t, cb, aws.ToString(b.Id), 30*time.Second)
	})
}

// waitPhase waits until a build has reached phase (or finished).
func waitBuildPhase(t *testing.T, cb *codebuild.Client, id, phase string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, err := cb.BatchGetBuilds(bg, &codebuild.BatchGetBuildsInput{Ids: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Builds[0].CurrentPhase) == phase {
			return
		}
		if out.Builds[0].BuildComplete {
			t.Fatalf("build %s finished (%s) before reaching %s", id, out.Builds[0].BuildStatus, phase)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("build %s did not reach %s", id, phase)
}

func buildNumbers(t *testing.T, cb *codebuild.Client, ids []string) []int64 {
	t.Helper()
	out, err := cb.BatchGetBuilds(bg, &codebuild.BatchGetBuildsInput{Ids: ids})
	if err != nil {
		t.Fatal(err)
	}
	var n []int64
	for _, b := range out.Builds {
		n = append(n, aws.ToInt64(b.BuildNumber))
	}
	return n
}

// zipOf returns a zip archive of files.
func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sdkOverrides(t *testing.T, r *Runner) {
	cb := r.CodeBuild()
	in := projectInput("sdk-over", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo project buildspec\n")
	in.Environment.EnvironmentVariables = []types.EnvironmentVariable{
		{Name: aws.String("FROM_PROJECT"), Value: aws.String("p")},
		{Name: aws.String("BOTH"), Value: aws.String("project")},
	}
	if _, err := cb.CreateProject(bg, in); err != nil {
		t.Fatal(err)
	}

	t.Run("Environment", func(t *testing.T) {
		b := sdkStart(t, cb, &codebuild.StartBuildInput{
			ProjectName:       aws.String("sdk-over"),
			BuildspecOverride: aws.String("version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"override $FROM_PROJECT $BOTH $NEW img=$CODEBUILD_BUILD_IMAGE\"\n"),
			EnvironmentVariablesOverride: []types.EnvironmentVariable{
				{Name: aws.String("BOTH"), Value: aws.String("override")},
				{Name: aws.String("NEW"), Value: aws.String("new")},
			},
			ImageOverride:           aws.String("custom/image:1"),
			ComputeTypeOverride:     types.ComputeTypeBuildGeneral1Medium,
			EnvironmentTypeOverride: hostEnvironmentType(),
		})
		e := b.Environment
		if aws.ToString(e.Image) != "custom/image:1" || e.ComputeType != types.ComputeTypeBuildGeneral1Medium || e.Type != hostEnvironmentType() {
			t.Errorf("build environment %s %s %s, want the overrides", aws.ToString(e.Image), e.ComputeType, e.Type)
		}
		if !strings.Contains(aws.ToString(b.Source.Buildspec), "override") {
			t.Errorf("build source buildspec %q, want the override", aws.ToString(b.Source.Buildspec))
		}
		d := WaitBuild(t, cb, aws.ToString(b.Id), 30*time.Second)
		log := BuildLog(t, r, d)
		if d.BuildStatus != types.StatusTypeSucceeded || !slices.Contains(log, "override p override new img=custom/image:1") {
			t.Fatalf("status %s, log:\n%s", d.BuildStatus, strings.Join(log, "\n"))
		}
		if !containsLine(log, "Image custom/image:1 ("+string(hostEnvironmentType())+", BUILD_GENERAL1_MEDIUM) runs in the host sandbox") {
			t.Errorf("log does not name the overridden image and sizes:\n%s", strings.Join(log, "\n"))
		}
		// The project is untouched by a build's overrides.
		p, err := cb.BatchGetProjects(bg, &codebuild.BatchGetProjectsInput{Names: []string{"sdk-over"}})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(p.Projects[0].Environment.Image) != testImage {
			t.Errorf("project image became %s", aws.ToString(p.Projects[0].Environment.Image))
		}
		// RetryBuild reuses the overrides.
		rb, err := cb.RetryBuild(bg, &codebuild.RetryBuildInput{Id: b.Id})
		if err != nil {
			t.Fatal(err)
		}
		rd := WaitBuild(t, cb, aws.ToString(rb.Build.Id), 30*time.Second)
		if aws.ToString(rd.Environment.Image) != "custom/image:1" || !slices.Contains(BuildLog(t, r, rd), "override p override new img=custom/image:1") {
			t.Errorf("retried build lost the overrides: image %s", aws.ToString(rd.Environment.Image))
		}
		_, err = cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-over"), ComputeTypeOverride: types.ComputeTypeBuildLambda2gb})
		WantAPIError(t, err, "InvalidInputException", "BUILD_LAMBDA_2GB")
		_, err = cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-over"), EnvironmentVariablesOverride: []types.EnvironmentVariable{{Name: aws.String("CODEBUILD_X"), Value: aws.String("1")}}})
		WantAPIError(t, err, "InvalidInputException", "CODEBUILD_X")
	})

	t.Run("Source", func(t *testing.T) {
		s3c := r.S3()
		if _, err := s3c.CreateBucket(bg, &s3.CreateBucketInput{Bucket: aws.String("sdk-src")}); err != nil {
			t.Fatal(err)
		}
		archive := zipOf(t, map[string]string{
			"buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands:\n      - cat hello.txt\n",
			"hello.txt":     "hello from the zip",
		})
		if _, err := s3c.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("sdk-src"), Key: aws.String("src.zip"), Body: bytes.NewReader(archive)}); err != nil {
			t.Fatal(err)
		}
		in := &codebuild.StartBuildInput{
			ProjectName:            aws.String("sdk-over"),
			SourceTypeOverride:     types.SourceTypeS3,
			SourceLocationOverride: aws.String("sdk-src/src.zip"),
			BuildspecOverride:      aws.String(""),
		}
		b := sdkStart(t, cb, in)
		if b.Source.Type != types.SourceTypeS3 || aws.ToString(b.Source.Location) != "sdk-src/src.zip" {
			t.Errorf("build source %s %s", b.Source.Type, aws.ToString(b.Source.Location))
		}
		d := WaitBuild(t, cb, aws.ToString(b.Id), 30*time.Second)
		log := BuildLog(t, r, d)
		if d.BuildStatus != types.StatusTypeSucceeded || !slices.Contains(log, "hello from the zip") {
			t.Fatalf("S3 source build %s, log:\n%s", d.BuildStatus, strings.Join(log, "\n"))
		}
	})

	t.Run("IdempotencyToken", func(t *testing.T) {
		in := &codebuild.StartBuildInput{ProjectName: aws.String("sdk-over"), IdempotencyToken: aws.String("tok-1")}
		a := sdkStart(t, cb, in)
		b := sdkStart(t, cb, in)
		if aws.ToString(a.Id) != aws.ToString(b.Id) {
			t.Errorf("same token and parameters started two builds: %s and %s", aws.ToString(a.Id), aws.ToString(b.Id))
		}
		_, err := cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-over"), IdempotencyToken: aws.String("tok-1"), ImageOverride: aws.String("other:1")})
		WantAPIError(t, err, "InvalidInputException", "tok-1")
		c := sdkStart(t, cb, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-over"), IdempotencyToken: aws.String("tok-2")})
		if aws.ToString(c.Id) == aws.ToString(a.Id) {
			t.Errorf("a new token returned the old build")
		}
		WaitBuild(t, cb, aws.ToString(a.Id), 30*time.Second)
		WaitBuild(t, cb, aws.ToString(c.Id), 30*time.Second)
	})

	t.Run("NotFound", func(t *testing.T) {
		_, err := cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-nope")})
		WantAPIError(t, err, "ResourceNotFoundException", "Project cannot be found: "+projectArn("sdk-nope"))
	})
}

func containsLine(lines []string, sub string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, sub) })
}

// sdkListBuildsPaging pages over more than 100 builds. Their source is a
// missing S3 object, so each fails in DOWNLOAD_SOURCE without starting a
// shell: cheap to run by the hundred.
func sdkListBuildsPaging(t *testing.T, r *Runner) {
	cb := r.CodeBuild()
	in := projectInput("sdk-many", "")
	in.Source = &types.ProjectSource{Type: types.SourceTypeS3, Location: aws.String("sdk-nobucket/none.zip")}
	if _, err := cb.CreateProject(bg, in); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < 103; i++ {
		ids = append(ids, aws.ToString(sdkStart(t, cb, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-many")}).Id))
	}
	last := WaitBuild(t, cb, ids[len(ids)-1], 30*time.Second)
	if last.BuildStatus != types.StatusTypeFailed {
		t.Errorf("build of a missing source: %s", last.BuildStatus)
	}
	if p := phaseOf(last, types.BuildPhaseTypeDownloadSource); p == nil || p.PhaseStatus != types.StatusTypeFailed || len(p.Contexts) == 0 || aws.ToString(p.Contexts[0].StatusCode) != "CLIENT_ERROR" {
		t.Errorf("DOWNLOAD_SOURCE of a missing source = %+v", p)
	}
	pageAll := func(order types.SortOrderType) []string {
		var got []string
		var token *string
		for {
			out, err := cb.ListBuildsForProject(bg, &codebuild.ListBuildsForProjectInput{ProjectName: aws.String("sdk-many"), SortOrder: order, NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			if out.NextToken != nil && len(out.Ids) != 100 {
				t.Fatalf("a page with a nextToken has %d ids", len(out.Ids))
			}
			got = append(got, out.Ids...)
			if out.NextToken == nil {
				return got
			}
			token = out.NextToken
		}
	}
	if asc := pageAll(types.SortOrderTypeAscending); !slices.Equal(asc, ids) {
		t.Errorf("ASCENDING pages: %d ids, want the %d in start order", len(asc), len(ids))
	}
	desc := pageAll("")
	slices.Reverse(desc)
	if !slices.Equal(desc, ids) {
		t.Errorf("default pages are not newest first")
	}
	pg := codebuild.NewListBuildsPaginator(cb, &codebuild.ListBuildsInput{})
	seen := map[string]bool{}
	pages := 0
	for pg.HasMorePages() {
		out, err := pg.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, id := range out.Ids {
			if seen[id] {
				t.Fatalf("ListBuilds repeated %s", id)
			}
			seen[id] = true
		}
	}
	for _, id := range ids {
		if !seen[id] {
			t.Fatalf("ListBuilds pages lack %s", id)
		}
	}
	if pages < 2 {
		t.Errorf("ListBuilds over %d builds came in %d page(s)", len(seen), pages)
	}
	for _, id := range ids {
		WaitBuild(t, cb, id, 30*time.Second)
	}
	// BatchDeleteBuilds takes at most 100 ids.
	_, err := cb.BatchDeleteBuilds(bg, &codebuild.BatchDeleteBuildsInput{Ids: ids})
	WantAPIError(t, err, "InvalidInputException", "Member must have length less than or equal to 100")
	out, err := cb.BatchDeleteBuilds(bg, &codebuild.BatchDeleteBuildsInput{Ids: ids[:100]})
	if err != nil || len(out.BuildsDeleted) != 100 {
		t.Fatalf("delete 100 finished builds: %v, %d deleted", err, len(out.BuildsDeleted))
	}
	left, err := cb.ListBuildsForProject(bg, &codebuild.ListBuildsForProjectInput{ProjectName: aws.String("sdk-many")})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Ids) != 3 || left.NextToken != nil {
		t.Errorf("after deleting 100 of 103: %d ids", len(left.Ids))
	}
}

func sdkLogs(t *testing.T, r *Runner) {
	cb := r.CodeBuild()
	// "mar""ker" keeps the word out of the agent's "Running command" line.
	CreateProject(t, cb, "sdk-logs", "version: 0.2\nphases:\n  build:\n    commands:\n      - for i in $(seq -w 1 30); do echo mar\"\"ker-$i; done\n")
	b := WaitBuild(t, cb, aws.ToString(sdkStart(t, cb, &codebuild.StartBuildInput{ProjectName: aws.String("sdk-logs")}).Id), 30*time.Second)
	group, stream := aws.ToString(b.Logs.GroupName), aws.ToString(b.Logs.StreamName)
	lc := r.Logs()

	// Forward paging, 7 events a page, until the token comes back unchanged.
	var all []string
	var token *string
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("GetLogEvents never repeated its token")
		}
		out, err := lc.GetLogEvents(bg, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			StartFromHead: aws.Bool(true), Limit: aws.Int32(7), NextToken: token,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) > 7 {
			t.Fatalf("limit 7 returned %d events", len(out.Events))
		}
		if out.NextForwardToken == nil || out.NextBackwardToken == nil {
			t.Fatalf("missing tokens: %+v", out)
		}
		for _, e := range out.Events {
			if aws.ToInt64(e.Timestamp) < b.StartTime.UnixMilli()-1000 || aws.ToInt64(e.IngestionTime) == 0 || !strings.HasSuffix(aws.ToString(e.Message), "\n") {
				t.Fatalf("event %+v: want ms timestamps and a message ending in a newline", e)
			}
			all = append(all, strings.TrimSuffix(aws.ToString(e.Message), "\n"))
		}
		if token != nil && aws.ToString(out.NextForwardToken) == *token {
			if len(out.Events) != 0 {
				t.Errorf("the page that repeats the token has %d events", len(out.Events))
			}
			break
		}
		token = out.NextForwardToken
	}
	var markers []string
	for _, l := range all {
		if strings.HasPrefix(l, "marker-") {
			markers = append(markers, l)
		}
	}
	if len(markers) != 30 || markers[0] != "marker-01" || markers[29] != "marker-30" || !slices.IsSorted(markers) {
		t.Errorf("command output lines out of order or missing: %v", markers)
	}
	agent := regexp.MustCompile(`^\[Container\] \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} `)
	if !agent.MatchString(all[0]) || !containsLine(all, "Running command for i in") || !containsLine(all, "Phase complete: BUILD State: SUCCEEDED") {
		t.Errorf("agent lines missing or misshapen:\n%s", strings.Join(all, "\n"))
	}

	t.Run("Newest", func(t *testing.T) {
		out, err := lc.GetLogEvents(bg, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream), Limit: aws.Int32(3),
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range out.Events {
			got = append(got, strings.TrimSuffix(aws.ToString(e.Message), "\n"))
		}
		if !slices.Equal(got, all[len(all)-3:]) {
			t.Errorf("startFromHead=false limit 3 = %q, want the newest 3 %q", got, all[len(all)-3:])
		}
	})

	t.Run("Filter", func(t *testing.T) {
		filter := func() []string {
			out, err := lc.FilterLogEvents(bg, &cloudwatchlogs.FilterLogEventsInput{
				LogGroupName: aws.String(group), LogStreamNames: []string{stream},
				FilterPattern: aws.String("marker"), StartFromHead: aws.Bool(true),
			})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range out.Events {
				if aws.ToString(e.LogStreamName) != stream || !strings.HasPrefix(aws.ToString(e.Message), "marker-") || aws.ToString(e.EventId) == "" {
					t.Fatalf("filtered event %+v", e)
				}
				ids = append(ids, aws.ToString(e.EventId))
			}
			return ids
		}
		first, second := filter(), filter()
		if len(first) != 30 || !slices.Equal(first, second) {
			t.Errorf("eventIds not stable or wrong count: %d vs %d", len(first), len(second))
		}
		if len(slices.Compact(slices.Clone(first))) != 30 {
			t.Errorf("eventIds repeat: %v", first)
		}
		out, err := lc.FilterLogEvents(bg, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(`"marker-17"`)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) != 1 || aws.ToString(out.Events[0].Message) != "marker-17\n" {
			t.Errorf("quoted filter pattern found %+v", out.Events)
		}
		_, err = lc.FilterLogEvents(bg, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/codebuild/sdk-none")})
		WantAPIError(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	})

	t.Run("Describe", func(t *testing.T) {
		g, err := lc.DescribeLogGroups(bg, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/codebuild/sdk-logs")})
		if err != nil {
			t.Fatal(err)
		}
		if len(g.LogGroups) != 1 || aws.ToString(g.LogGroups[0].LogGroupName) != group ||
			aws.ToString(g.LogGroups[0].Arn) != "arn:aws:logs:us-east-1:"+Account+":log-group:"+group+":*" || aws.ToInt64(g.LogGroups[0].CreationTime) == 0 {
			t.Errorf("log groups %+v", g.LogGroups)
		}
		s, err := lc.DescribeLogStreams(bg, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group)})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.LogStreams) != 1 || aws.ToString(s.LogStreams[0].LogStreamName) != stream || aws.ToInt64(s.LogStreams[0].FirstEventTimestamp) == 0 ||
			aws.ToInt64(s.LogStreams[0].LastEventTimestamp) < aws.ToInt64(s.LogStreams[0].FirstEventTimestamp) {
			t.Errorf("log streams %+v", s.LogStreams)
		}
		_, err = lc.DescribeLogStreams(bg, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/codebuild/sdk-none")})
		WantAPIError(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	})

	t.Run("NotFound", func(t *testing.T) {
		_, err := lc.GetLogEvents(bg, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("nope")})
		WantAPIError(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
		_, err = lc.GetLogEvents(bg, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/codebuild/sdk-none"), LogStreamName: aws.String(stream)})
		WantAPIError(t, err, "ResourceNotFoundException", "does not exist.")
	})
}

func sdkSSM(t *testing.T, r *Runner) {
	c := r.SSM()
	put := func(name, value string, typ ssmtypes.ParameterType, overwrite bool) (*ssm.PutParameterOutput, error) {
		return c.PutParameter(bg, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(overwrite)})
	}
	for _, p := range []struct {
		name, value string
		typ         ssmtypes.ParameterType
	}{
		{"/sdk/app/plain", "v1", ssmtypes.ParameterTypeString},
		{"/sdk/app/list", "a,b,c", ssmtypes.ParameterTypeStringList},
		{"/sdk/app/secret", "s3cret", ssmtypes.ParameterTypeSecureString},
		{"/sdk/app/deep/x", "x", ssmtypes.ParameterTypeString},
	} {
		out, err := put(p.name, p.value, p.typ, false)
		if err != nil {
			t.Fatal(err)
		}
		if out.Version != 1 || out.Tier != ssmtypes.ParameterTierStandard {
			t.Errorf("put %s: version %d tier %s", p.name, out.Version, out.Tier)
		}
	}
	_, err := put("/sdk/app/plain", "v2", ssmtypes.ParameterTypeString, false)
	WantAPIError(t, err, "ParameterAlreadyExists", "The parameter already exists.")
	out, err := put("/sdk/app/plain", "v2", ssmtypes.ParameterTypeString, true)
	if err != nil || out.Version != 2 {
		t.Fatalf("overwrite: %v, version %v", err, out)
	}

	get := func(name string, decrypt bool) *ssmtypes.Parameter {
		t.Helper()
		out, err := c.GetParameter(bg, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(decrypt)})
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		return out.Parameter
	}
	p := get("/sdk/app/plain", false)
	if aws.ToString(p.Value) != "v2" || p.Version != 2 || p.Type != ssmtypes.ParameterTypeString ||
		aws.ToString(p.ARN) != "arn:aws:ssm:us-east-1:"+Account+":parameter/sdk/app/plain" || p.LastModifiedDate == nil {
		t.Errorf("plain parameter %+v", p)
	}
	if v := aws.ToString(get("/sdk/app/list", false).Value); v != "a,b,c" {
		t.Errorf("StringList value %q", v)
	}
	if v := aws.ToString(get("/sdk/app/secret", true).Value); v != "s3cret" {
		t.Errorf("SecureString with decryption %q", v)
	}
	if v := aws.ToString(get("/sdk/app/secret", false).Value); v == "s3cret" || v == "" {
		t.Errorf("SecureString without decryption shows %q", v)
	}
	_, err = c.GetParameter(bg, &ssm.GetParameterInput{Name: aws.String("/sdk/missing")})
	WantAPIError(t, err, "ParameterNotFound", "")

	gp, err := c.GetParameters(bg, &ssm.GetParametersInput{Names: []string{"/sdk/app/plain", "/sdk/missing", "/sdk/app/secret"}, WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range gp.Parameters {
		names = append(names, aws.ToString(p.Name))
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"/sdk/app/plain", "/sdk/app/secret"}) || !slices.Equal(gp.InvalidParameters, []string{"/sdk/missing"}) {
		t.Errorf("GetParameters: %v, invalid %v", names, gp.InvalidParameters)
	}

	byPath := func(recursive bool) []string {
		var got []string
		pg := ssm.NewGetParametersByPathPaginator(c, &ssm.GetParametersByPathInput{Path: aws.String("/sdk/app"), Recursive: aws.Bool(recursive), MaxResults: aws.Int32(1)})
		pages := 0
		for pg.HasMorePages() {
			out, err := pg.NextPage(bg)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(out.Parameters) > 1 {
				t.Fatalf("MaxResults 1 returned %d", len(out.Parameters))
			}
			for _, p := range out.Parameters {
				got = append(got, aws.ToString(p.Name))
			}
		}
		if pages < len(got) {
			t.Errorf("%d parameters in %d pages of 1", len(got), pages)
		}
		slices.Sort(got)
		return got
	}
	if got := byPath(true); !slices.Equal(got, []string{"/sdk/app/deep/x", "/sdk/app/list", "/sdk/app/plain", "/sdk/app/secret"}) {
		t.Errorf("recursive by path: %v", got)
	}
	if got := byPath(false); !slices.Equal(got, []string{"/sdk/app/list", "/sdk/app/plain", "/sdk/app/secret"}) {
		t.Errorf("one level by path: %v", got)
	}

	dp, err := c.DescribeParameters(bg, &ssm.DescribeParametersInput{})
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]ssmtypes.ParameterMetadata{}
	for _, m := range dp.Parameters {
		meta[aws.ToString(m.Name)] = m
	}
	if m := meta["/sdk/app/plain"]; m.Version != 2 || m.Type != ssmtypes.ParameterTypeString {
		t.Errorf("describe /sdk/app/plain: %+v", m)
	}
	if m := meta["/sdk/app/secret"]; m.Type != ssmtypes.ParameterTypeSecureString || aws.ToString(m.KeyId) != "alias/aws/ssm" {
		t.Errorf("describe /sdk/app/secret: type %s key %s", m.Type, aws.ToString(m.KeyId))
	}

	if _, err := c.DeleteParameter(bg, &ssm.DeleteParameterInput{Name: aws.String("/sdk/app/plain")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetParameter(bg, &ssm.GetParameterInput{Name: aws.String("/sdk/app/plain")})
	WantAPIError(t, err, "ParameterNotFound", "")
	_, err = c.DeleteParameter(bg, &ssm.DeleteParameterInput{Name: aws.String("/sdk/app/plain")})
	WantAPIError(t, err, "ParameterNotFound", "")
	_, err = put("/sdk/bad name!", "x", ssmtypes.ParameterTypeString, false)
	WantAPIError(t, err, "ValidationException", "")
}

func sdkSecrets(t *testing.T, r *Runner) {
	c := r.Secrets()
	cr, err := c.CreateSecret(bg, &secretsmanager.CreateSecretInput{Name: aws.String("sdk/db"), SecretString: aws.String(`{"user":"u","pass":"p1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	arnRE := regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:` + Account + `:secret:sdk/db-[A-Za-z0-9]{6}$`)
	if !arnRE.MatchString(aws.ToString(cr.ARN)) || aws.ToString(cr.Name) != "sdk/db" || aws.ToString(cr.VersionId) == "" {
		t.Fatalf("create secret: %s %s %s", aws.ToString(cr.ARN), aws.ToString(cr.Name), aws.ToString(cr.VersionId))
	}
	_, err = c.CreateSecret(bg, &secretsmanager.CreateSecretInput{Name: aws.String("sdk/db"), SecretString: aws.String("x")})
	WantAPIError(t, err, "ResourceExistsException", "sdk/db")

	pv, err := c.PutSecretValue(bg, &secretsmanager.PutSecretValueInput{SecretId: aws.String("sdk/db"), SecretString: aws.String(`{"user":"u","pass":"p2"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(pv.VersionId) == aws.ToString(cr.VersionId) || !slices.Equal(pv.VersionStages, []string{"AWSCURRENT"}) {
		t.Errorf("put value: version %s stages %v", aws.ToString(pv.VersionId), pv.VersionStages)
	}
	for _, id := range []string{"sdk/db", aws.ToString(cr.ARN)} {
		g, err := c.GetSecretValue(bg, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		if aws.ToString(g.SecretString) != `{"user":"u","pass":"p2"}` || aws.ToString(g.VersionId) != aws.ToString(pv.VersionId) ||
			aws.ToString(g.ARN) != aws.ToString(cr.ARN) || !slices.Contains(g.VersionStages, "AWSCURRENT") || g.CreatedDate == nil {
			t.Errorf("get %s: %+v", id, g)
		}
	}
	prev, err := c.GetSecretValue(bg, &secretsmanager.GetSecretValueInput{SecretId: aws.String("sdk/db"), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(prev.SecretString) != `{"user":"u","pass":"p1"}` || aws.ToString(prev.VersionId) != aws.ToString(cr.VersionId) {
		t.Errorf("AWSPREVIOUS = %s (%s)", aws.ToString(prev.SecretString), aws.ToString(prev.VersionId))
	}

	d, err := c.DescribeSecret(bg, &secretsmanager.DescribeSecretInput{SecretId: aws.String("sdk/db")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.VersionIdsToStages[aws.ToString(cr.VersionId)], []string{"AWSPREVIOUS"}) ||
		!slices.Equal(d.VersionIdsToStages[aws.ToString(pv.VersionId)], []string{"AWSCURRENT"}) || d.DeletedDate != nil {
		t.Errorf("describe: stages %v deleted %v", d.VersionIdsToStages, d.DeletedDate)
	}

	if _, err := c.CreateSecret(bg, &secretsmanager.CreateSecretInput{Name: aws.String("sdk/other"), SecretString: aws.String("o")}); err != nil {
		t.Fatal(err)
	}
	list := func(include bool) []string {
		out, err := c.ListSecrets(bg, &secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(include)})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range out.SecretList {
			names = append(names, aws.ToString(s.Name))
		}
		slices.Sort(names)
		return names
	}
	if got := list(false); !slices.Equal(got, []string{"sdk/db", "sdk/other"}) {
		t.Errorf("list: %v", got)
	}

	// Delete with a recovery window: marked, not gone.
	del, err := c.DeleteSecret(bg, &secretsmanager.DeleteSecretInput{SecretId: aws.String("sdk/db"), RecoveryWindowInDays: aws.Int64(7)})
	if err != nil {
		t.Fatal(err)
	}
	if del.DeletionDate == nil || del.DeletionDate.Sub(time.Now()) < 7*24*time.Hour-time.Minute || del.DeletionDate.Sub(time.Now()) > 7*24*time.Hour+time.Minute {
		t.Errorf("deletion date %v, want in 7 days", del.DeletionDate)
	}
	_, err = c.GetSecretValue(bg, &secretsmanager.GetSecretValueInput{SecretId: aws.String("sdk/db")})
	WantAPIError(t, err, "InvalidRequestException", "marked for deletion")
	if d, err := c.DescribeSecret(bg, &secretsmanager.DescribeSecretInput{SecretId: aws.String("sdk/db")}); err != nil || d.DeletedDate == nil {
		t.Errorf("describe of a secret pending deletion: %v", err)
	}
	if got := list(false); !slices.Equal(got, []string{"sdk/other"}) {
		t.Errorf("list without planned deletions: %v", got)
	}
	if got := list(true); !slices.Equal(got, []string{"sdk/db", "sdk/other"}) {
		t.Errorf("list with planned deletions: %v", got)
	}
	// Forced: gone at once.
	if _, err := c.DeleteSecret(bg, &secretsmanager.DeleteSecretInput{SecretId: aws.String("sdk/other"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSecretValue(bg, &secretsmanager.GetSecretValueInput{SecretId: aws.String("sdk/other")})
	WantAPIError(t, err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	_, err = c.DeleteSecret(bg, &secretsmanager.DeleteSecretInput{SecretId: aws.String("sdk/db"), RecoveryWindowInDays: aws.Int64(3)})
	WantAPIError(t, err, "InvalidParameterException", "between 7 and 30")
	_, err = c.PutSecretValue(bg, &secretsmanager.PutSecretValueInput{SecretId: aws.String("sdk/none"), SecretString: aws.String("x")})
	WantAPIError(t, err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

func sdkS3(t *testing.T, r *Runner) {
	c := r.S3()
	if _, err := c.CreateBucket(bg, &s3.CreateBucketInput{Bucket: aws.String("sdk-bucket")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HeadBucket(bg, &s3.HeadBucketInput{Bucket: aws.String("sdk-bucket")}); err != nil {
		t.Fatal(err)
	}
	lb, err := c.ListBuckets(bg, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(lb.Buckets, func(b s3types.Bucket) bool { return aws.ToString(b.Name) == "sdk-bucket" && b.CreationDate != nil }) {
		t.Errorf("ListBuckets lacks sdk-bucket: %+v", lb.Buckets)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	put, err := c.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("sdk-bucket"), Key: aws.String("dir/a.bin"), Body: bytes.NewReader(body),
		ContentType: aws.String("application/x-test"), Metadata: map[string]string{"who": "sdk"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"dir/b.txt", "dir/sub/c.txt", "top.txt"} {
		if _, err := c.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("sdk-bucket"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	get, err := c.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("sdk-bucket"), Key: aws.String("dir/a.bin")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, body) || aws.ToString(get.ETag) != aws.ToString(put.ETag) || aws.ToString(get.ContentType) != "application/x-test" ||
		get.Metadata["who"] != "sdk" || aws.ToInt64(get.ContentLength) != int64(len(body)) {
		t.Errorf("GetObject: %d bytes, etag %s/%s, type %s, meta %v", len(got), aws.ToString(get.ETag), aws.ToString(put.ETag), aws.ToString(get.ContentType), get.Metadata)
	}
	if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(aws.ToString(put.ETag)) {
		t.Errorf("ETag %s is not a quoted MD5", aws.ToString(put.ETag))
	}
	head, err := c.HeadObject(bg, &s3.HeadObjectInput{Bucket: aws.String("sdk-bucket"), Key: aws.String("dir/a.bin")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(body)) || head.LastModified == nil {
		t.Errorf("HeadObject: %v %+v", err, head)
	}

	lo, err := c.ListObjectsV2(bg, &s3.ListObjectsV2Input{Bucket: aws.String("sdk-bucket"), Prefix: aws.String("dir/"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var keys, prefixes []string
	for _, o := range lo.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	for _, p := range lo.CommonPrefixes {
		prefixes = append(prefixes, aws.ToString(p.Prefix))
	}
	if !slices.Equal(keys, []string{"dir/a.bin", "dir/b.txt"}) || !slices.Equal(prefixes, []string{"dir/sub/"}) {
		t.Errorf("ListObjectsV2 dir/ with /: keys %v prefixes %v", keys, prefixes)
	}
	var paged []string
	pg := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("sdk-bucket"), MaxKeys: aws.Int32(1)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			paged = append(paged, aws.ToString(o.Key))
		}
	}
	if !slices.Equal(paged, []string{"dir/a.bin", "dir/b.txt", "dir/sub/c.txt", "top.txt"}) {
		t.Errorf("ListObjectsV2 pages of 1: %v", paged)
	}

	if _, err := c.DeleteObject(bg, &s3.DeleteObjectInput{Bucket: aws.String("sdk-bucket"), Key: aws.String("top.txt")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("sdk-bucket"), Key: aws.String("top.txt")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("GetObject of a deleted key: %v, want NoSuchKey", err)
	}
	_, err = c.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("sdk-nobucket"), Key: aws.String("k")})
	WantAPIError(t, err, "NoSuchBucket", "The specified bucket does not exist")
	_, err = c.HeadBucket(bg, &s3.HeadBucketInput{Bucket: aws.String("sdk-nobucket")})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("HeadBucket of a missing bucket: %v, want NotFound", err)
	}
	_, err = c.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("sdk-nobucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
	WantAPIError(t, err, "NoSuchBucket", "")
}

func sdkAuth(t *testing.T, r *Runner) {
	k := r.Key()
	withKey := func(id, secret string) aws.Config {
		cfg := r.AWSConfig()
		cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
		cfg.RetryMaxAttempts = 1
		return cfg
	}
	wrongSecret := withKey(k.ID, altered(k.Secret))
	unknownKey := withKey("AKIAUNKNOWNUNKNOWN00", k.Secret)

	_, err := codebuild.NewFromConfig(wrongSecret).ListProjects(bg, &codebuild.ListProjectsInput{})
	WantAPIError(t, err, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.")
	_, err = codebuild.NewFromConfig(unknownKey).ListProjects(bg, &codebuild.ListProjectsInput{})
	WantAPIError(t, err, "UnrecognizedClientException", "The security token included in the request is invalid.")
	_, err = ssm.NewFromConfig(wrongSecret).GetParameter(bg, &ssm.GetParameterInput{Name: aws.String("/x")})
	WantAPIError(t, err, "InvalidSignatureException", "")

	pathStyle := func(o *s3.Options) { o.UsePathStyle = true }
	_, err = s3.NewFromConfig(wrongSecret, pathStyle).ListBuckets(bg, &s3.ListBucketsInput{})
	WantAPIError(t, err, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
	_, err = s3.NewFromConfig(unknownKey, pathStyle).ListBuckets(bg, &s3.ListBucketsInput{})
	WantAPIError(t, err, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")

	raw := r.Do(nil, "", http.MethodPost, "/", JSONHeader("CodeBuild_20161006.ListProjects"), []byte("{}"))
	if raw.Status != 400 || raw.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" || !bytes.Contains(raw.Body, []byte(`"__type":"MissingAuthenticationTokenException"`)) {
		t.Errorf("unsigned JSON request: %d %s %s", raw.Status, raw.Header.Get("X-Amzn-ErrorType"), raw.Body)
	}
	raw = r.Do(nil, "", http.MethodGet, "/", nil, nil)
	if raw.Status != 403 || !bytes.Contains(raw.Body, []byte("<Code>AccessDenied</Code>")) {
		t.Errorf("unsigned S3 request: %d %s", raw.Status, raw.Body)
	}
}
