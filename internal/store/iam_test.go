package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hangarci/hangar/internal/model"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func TestIAMRoles(t *testing.T) {
	ctx := context.Background()
	db, path := openParamsDB(t)
	r := IAMRole{ID: "AROAAAAAAAAAAAAAAAAAA", Name: "Build-Role", Path: "/ci/", Trust: `{"x": 1}`, MaxSession: 3600,
		Tags: []model.IAMTag{{Key: "k", Value: "v"}}, Created: t0}
	if err := db.CreateRole(ctx, r); err != nil {
		t.Fatal(err)
	}
	r2 := r
	r2.ID, r2.Name = "AROABBBBBBBBBBBBBBBBB", "build-role"
	if err := db.CreateRole(ctx, r2); !errors.Is(err, ErrExists) {
		t.Fatalf("same name in another case: %v", err)
	}
	got, err := db.Role(ctx, "BUILD-ROLE")
	if err != nil || got.Name != "Build-Role" || got.Trust != `{"x": 1}` || !got.Created.Equal(t0) || len(got.Tags) != 1 {
		t.Fatalf("role = %+v, %v", got, err)
	}
	if _, err := db.Role(ctx, "other"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing role: %v", err)
	}
	r3 := r
	r3.ID, r3.Name, r3.Path = "AROACCCCCCCCCCCCCCCCC", "a-role", "/"
	if err := db.CreateRole(ctx, r3); err != nil {
		t.Fatal(err)
	}
	all, err := db.Roles(ctx, "/")
	if err != nil || len(all) != 2 || all[0].Name != "a-role" {
		t.Fatalf("roles = %v, %v", all, err)
	}
	ci, err := db.Roles(ctx, "/ci/")
	if err != nil || len(ci) != 1 || ci[0].Name != "Build-Role" {
		t.Fatalf("roles under /ci/ = %v, %v", ci, err)
	}
	boom := errors.New("refused")
	if _, err := db.UpdateRole(ctx, "build-role", func(r *IAMRole) error { r.Description = "x"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("refused update: %v", err)
	}
	up, err := db.UpdateRole(ctx, "build-role", func(r *IAMRole) error { r.Description, r.MaxSession = "d", 7200; return nil })
	if err != nil || up.Description != "d" {
		t.Fatalf("update = %+v, %v", up, err)
	}

	// Policies block deletion: attached first, then inline, as IAM says.
	if err := db.PutInlinePolicy(ctx, RolePrincipal, "build-role", "DefaultPolicy", `{"doc":1}`, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.AttachPolicy(ctx, RolePrincipal, "build-role", model.AWSManagedPolicyPrefix+"ReadOnlyAccess", false, 10, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteRole(ctx, "build-role"); !errors.Is(err, ErrHasAttachedPolicies) {
		t.Fatalf("delete with attached policy: %v", err)
	}
	if err := db.DetachPolicy(ctx, RolePrincipal, "build-role", model.AWSManagedPolicyPrefix+"ReadOnlyAccess"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteRole(ctx, "build-role"); !errors.Is(err, ErrHasInlinePolicies) {
		t.Fatalf("delete with inline policy: %v", err)
	}
	if err := db.DeleteInlinePolicy(ctx, RolePrincipal, "build-role", "DefaultPolicy"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteRole(ctx, "build-role"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteRole(ctx, "build-role"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}

	// Survives a reopen (the migration ran once, state is on disk).
	db.Close()
	db2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, err := db2.Role(ctx, "a-role"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}

func TestIAMInlineAndAttachments(t *testing.T) {
	ctx := context.Background()
	db, _ := openParamsDB(t)
	if err := db.PutInlinePolicy(ctx, RolePrincipal, "nobody", "p", "{}", nil); !errors.Is(err, ErrNoPrincipal) {
		t.Fatalf("put on a missing role: %v", err)
	}
	if err := db.CreateRole(ctx, IAMRole{ID: "AROA1", Name: "r", Path: "/", Trust: "{}", MaxSession: 3600, Created: t0}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, IAMUser{ID: "AIDA1", Name: "r", Path: "/", Created: t0}); err != nil {
		t.Fatalf("a user may share a role's name: %v", err)
	}
	for _, name := range []string{"B", "A"} {
		if err := db.PutInlinePolicy(ctx, RolePrincipal, "r", name, `{"v":"`+name+`"}`, nil); err != nil {
			t.Fatal(err)
		}
	}
	var seen []InlinePolicy
	err := db.PutInlinePolicy(ctx, RolePrincipal, "r", "A", `{"v":"A2"}`, func(others []InlinePolicy) error {
		seen = others
		return nil
	})
	if err != nil || len(seen) != 1 || seen[0].Name != "B" {
		t.Fatalf("check saw %v, %v", seen, err)
	}
	if err := db.PutInlinePolicy(ctx, RolePrincipal, "r", "C", `{}`, func([]InlinePolicy) error { return ErrLimit }); !errors.Is(err, ErrLimit) {
		t.Fatalf("refused put: %v", err)
	}
	pols, err := db.InlinePolicies(ctx, RolePrincipal, "r")
	if err != nil || len(pols) != 2 || pols[0].Name != "A" || pols[0].Document != `{"v":"A2"}` {
		t.Fatalf("inline policies = %v, %v", pols, err)
	}
	if _, err := db.InlinePolicy(ctx, UserPrincipal, "r", "A"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the user has no policy A: %v", err)
	}
	if _, err := db.InlinePolicy(ctx, UserPrincipal, "nobody", "A"); !errors.Is(err, ErrNoPrincipal) {
		t.Fatalf("no such user: %v", err)
	}

	arn := "arn:aws:iam::000000000000:policy/team/p"
	if err := db.AttachPolicy(ctx, RolePrincipal, "r", arn, true, 10, t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("attach a missing customer policy: %v", err)
	}
	if err := db.CreatePolicy(ctx, IAMPolicy{ID: "ANPA1", Arn: arn, Name: "p", Path: "/team/", Created: t0}, `{"v":1}`); err != nil {
		t.Fatal(err)
	}
	if err := db.CreatePolicy(ctx, IAMPolicy{ID: "ANPA2", Arn: "arn:aws:iam::000000000000:policy/P", Name: "P", Path: "/", Created: t0}, `{}`); !errors.Is(err, ErrExists) {
		t.Fatalf("same policy name on another path: %v", err)
	}
	for i := 0; i < 2; i++ { // the second attach is a no-op
		if err := db.AttachPolicy(ctx, RolePrincipal, "r", arn, true, 2, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AttachPolicy(ctx, RolePrincipal, "r", model.AWSManagedPolicyPrefix+"A", false, 2, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := db.AttachPolicy(ctx, RolePrincipal, "r", model.AWSManagedPolicyPrefix+"B", false, 2, t0); !errors.Is(err, ErrLimit) {
		t.Fatalf("third attachment with a limit of 2: %v", err)
	}
	if err := db.AttachPolicy(ctx, UserPrincipal, "r", arn, true, 2, t0); err != nil {
		t.Fatal(err)
	}
	att, err := db.AttachedPolicies(ctx, RolePrincipal, "r")
	if err != nil || len(att) != 2 || att[0].PolicyArn != arn {
		t.Fatalf("attached = %v, %v", att, err)
	}
	counts, err := db.AttachmentCounts(ctx)
	if err != nil || counts[arn] != 2 || counts[model.AWSManagedPolicyPrefix+"A"] != 1 {
		t.Fatalf("counts = %v, %v", counts, err)
	}
	if err := db.DetachPolicy(ctx, RolePrincipal, "r", model.AWSManagedPolicyPrefix+"B"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("detach what is not attached: %v", err)
	}

	// Managed policy versions.
	p, err := db.Policy(ctx, arn)
	if err != nil || p.Attachments != 2 || p.DefaultVersion != 1 {
		t.Fatalf("policy = %+v, %v", p, err)
	}
	if err := db.DeletePolicy(ctx, arn); !errors.Is(err, ErrPolicyAttached) {
		t.Fatalf("delete an attached policy: %v", err)
	}
	v, err := db.CreatePolicyVersion(ctx, arn, `{"v":2}`, true, 2, t0.Add(time.Hour))
	if err != nil || v.Version != 2 || !v.Default {
		t.Fatalf("version = %+v, %v", v, err)
	}
	if _, err := db.CreatePolicyVersion(ctx, arn, `{"v":3}`, false, 2, t0); !errors.Is(err, ErrLimit) {
		t.Fatalf("third version with a limit of 2: %v", err)
	}
	def, err := db.PolicyVersion(ctx, arn, 0)
	if err != nil || def.Version != 2 || def.Document != `{"v":2}` || !def.Default {
		t.Fatalf("default version = %+v, %v", def, err)
	}
	if _, err := db.PolicyVersion(ctx, arn, 9); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	if err := db.DeletePolicyVersion(ctx, arn, 2); !errors.Is(err, ErrDefaultVersion) {
		t.Fatalf("delete the default version: %v", err)
	}
	vs, err := db.PolicyVersions(ctx, arn)
	if err != nil || len(vs) != 2 || vs[0].Version != 2 || !vs[0].Default || vs[1].Default {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	for _, who := range []PrincipalKind{RolePrincipal, UserPrincipal} {
		if err := db.DetachPolicy(ctx, who, "r", arn); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeletePolicy(ctx, arn); !errors.Is(err, ErrPolicyVersions) {
		t.Fatalf("delete with two versions: %v", err)
	}
	if err := db.SetDefaultPolicyVersion(ctx, arn, 1, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePolicyVersion(ctx, arn, 2); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePolicy(ctx, arn); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PolicyVersion(ctx, arn, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("versions go with the policy: %v", err)
	}
}

func TestIAMUsersAndKeys(t *testing.T) {
	ctx := context.Background()
	db, _ := openParamsDB(t)
	// The runner's own key belongs to "hangar", which no IAM user may take.
	if err := db.PutAccessKey(ctx, AccessKey{ID: "AKIARUNNER", Secret: []byte("s"), User: "hangar", Status: "Active", Created: 1}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, IAMUser{ID: "AIDA0", Name: "Hangar", Path: "/", Created: t0}); !errors.Is(err, ErrExists) {
		t.Fatalf("user named like the runner: %v", err)
	}
	if err := db.CreateUser(ctx, IAMUser{ID: "AIDA1", Name: "alice", Path: "/dev/", Created: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUserAccessKey(ctx, "bob", IAMAccessKey{ID: "AKIA0"}, 2); !errors.Is(err, ErrNoPrincipal) {
		t.Fatalf("key for a missing user: %v", err)
	}
	for i, id := range []string{"AKIA1", "AKIA2"} {
		k, err := db.CreateUserAccessKey(ctx, "ALICE", IAMAccessKey{ID: id, Secret: []byte("sealed"), Status: "Active", Created: t0.Add(time.Duration(i) * time.Second)}, 2)
		if err != nil || k.UserName != "alice" || k.UserID != "AIDA1" {
			t.Fatalf("key %s = %+v, %v", id, k, err)
		}
	}
	if _, err := db.CreateUserAccessKey(ctx, "alice", IAMAccessKey{ID: "AKIA3", Status: "Active", Created: t0}, 2); !errors.Is(err, ErrLimit) {
		t.Fatalf("third key: %v", err)
	}
	keys, err := db.UserAccessKeys(ctx, "AIDA1", "alice")
	if err != nil || len(keys) != 2 || keys[0].ID != "AKIA1" {
		t.Fatalf("keys = %v, %v", keys, err)
	}
	runner, err := db.UserAccessKeys(ctx, "", "hangar")
	if err != nil || len(runner) != 1 || runner[0].ID != "AKIARUNNER" || runner[0].UserID != "" {
		t.Fatalf("runner keys = %v, %v", runner, err)
	}
	if err := db.SetUserAccessKeyStatus(ctx, "AIDA1", "AKIA1", "Inactive"); err != nil {
		t.Fatal(err)
	}
	k, err := db.IAMAccessKey(ctx, "AKIA1")
	if err != nil || k.Status != "Inactive" || string(k.Secret) != "sealed" {
		t.Fatalf("key = %+v, %v", k, err)
	}
	// The runner's keys are not an IAM user's to change or delete.
	if err := db.DeleteUserAccessKey(ctx, "", "AKIARUNNER"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete the runner's key: %v", err)
	}
	if err := db.SetUserAccessKeyStatus(ctx, "", "AKIARUNNER", "Inactive"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deactivate the runner's key: %v", err)
	}
	if err := db.DeleteUser(ctx, "alice"); !errors.Is(err, ErrHasAccessKeys) {
		t.Fatalf("delete a user with keys: %v", err)
	}
	for _, id := range []string{"AKIA1", "AKIA2"} {
		if err := db.DeleteUserAccessKey(ctx, "AIDA1", id); err != nil {
			t.Fatal(err)
		}
	}
	users, err := db.Users(ctx, "/dev/")
	if err != nil || len(users) != 1 {
		t.Fatalf("users = %v, %v", users, err)
	}
	if err := db.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
}

func TestTempCredentials(t *testing.T) {
	ctx := context.Background()
	db, _ := openParamsDB(t)
	c := TempCredential{AccessKeyID: "ASIA1", Secret: []byte("s"), SessionToken: []byte("t"), RoleArn: "arn:aws:iam::000000000000:role/r",
		RoleID: "AROA1", SessionName: "s1", SourceArn: "codebuild.amazonaws.com", Policy: `{"p":1}`, PolicyArns: []string{"arn:x"},
		Tags: []model.IAMTag{{Key: "a", Value: "b"}}, Created: t0, Expires: t0.Add(time.Hour)}
	if err := db.PutTempCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := db.PutTempCredential(ctx, c); !errors.Is(err, ErrExists) {
		t.Fatalf("same id twice: %v", err)
	}
	c2 := c
	c2.AccessKeyID, c2.Expires, c2.PolicyArns, c2.Tags = "ASIA2", t0.Add(2*time.Hour), nil, nil
	if err := db.PutTempCredential(ctx, c2); err != nil {
		t.Fatal(err)
	}
	got, err := db.TempCredential(ctx, "ASIA1")
	if err != nil || got.RoleArn != c.RoleArn || got.SessionName != "s1" || !got.Expires.Equal(c.Expires) ||
		len(got.PolicyArns) != 1 || len(got.Tags) != 1 || string(got.SessionToken) != "t" {
		t.Fatalf("credential = %+v, %v", got, err)
	}
	n, err := db.PurgeTempCredentials(ctx, t0.Add(90*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v", n, err)
	}
	if _, err := db.TempCredential(ctx, "ASIA1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("purged credential: %v", err)
	}
	if err := db.DeleteTempCredential(ctx, "ASIA2"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteTempCredential(ctx, "ASIA2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}
