package integration

import (
	"strings"
	"testing"
)

// TestBoto3 drives every operation with boto3. Each service is one python3
// script that asserts what it gets and prints "ok" at its end; the scripts
// run in parallel on one runner, each with its own names.
func TestBoto3(t *testing.T) {
	r := StartRunner(t)
	for _, c := range []struct{ name, script string }{
		{"CodeBuild", boto3CodeBuild},
		{"Logs", boto3Logs},
		{"SSM", boto3SSM},
		{"SecretsManager", boto3Secrets},
		{"S3", boto3S3},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := r.Python(boto3Prelude + c.script + "\nprint('ok')\n")
			if code != 0 || !strings.HasSuffix(stdout, "ok\n") {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
		})
	}
}

// boto3Prelude is shared by the scripts: clients for the runner (the
// environment names its endpoint and credentials file) and helpers.
const boto3Prelude = `
import datetime, json, re, time, urllib.request
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
ROLE = "arn:aws:iam::000000000000:role/hangar-test"
cb = boto3.client("codebuild")
logs = boto3.client("logs")
ssm = boto3.client("ssm")
sm = boto3.client("secretsmanager")
s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))

def fails(code, fn, **kw):
    """Calls fn, which must fail with code; returns the message."""
    try:
        fn(**kw)
    except ClientError as e:
        err = e.response["Error"]
        assert err["Code"] == code, "want %s, got %s" % (code, err)
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403, 404), e.response["ResponseMetadata"]
        return err.get("Message", "")
    raise AssertionError("%s: no error, want %s" % (fn.__name__, code))

def wait_build(build_id, timeout=30):
    deadline = time.time() + timeout
    while True:
        b = cb.batch_get_builds(ids=[build_id])["builds"][0]
        if b["buildComplete"]:
            return b
        assert time.time() < deadline, "build %s not complete: %s" % (build_id, b["currentPhase"])
        time.sleep(0.02)

def log_lines(group, stream):
    lines, token = [], None
    while True:
        kw = {"nextToken": token} if token else {}
        out = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, **kw)
        lines += [e["message"].rstrip("\n") for e in out["events"]]
        if token == out["nextForwardToken"]:
            return lines
        token = out["nextForwardToken"]

def project(name, spec, **extra):
    kw = dict(name=name, source={"type": "NO_SOURCE", "buildspec": spec}, artifacts={"type": "NO_ARTIFACTS"},
              environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/amazonlinux2-x86_64-standard:5.0",
                           "computeType": "BUILD_GENERAL1_SMALL"}, serviceRole=ROLE)
    kw.update(extra)
    return cb.create_project(**kw)["project"]

SPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo py $WHO\n"
SLEEP = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 60\n"
`

const boto3CodeBuild = `
p = project("py-proj", SPEC)
assert p["arn"] == "arn:aws:codebuild:us-east-1:%s:project/py-proj" % ACCOUNT, p
assert p["timeoutInMinutes"] == 60 and p["queuedTimeoutInMinutes"] == 480, p
assert p["encryptionKey"] == "arn:aws:kms:us-east-1:%s:alias/aws/s3" % ACCOUNT, p
assert p["cache"] == {"type": "NO_CACHE"}, p["cache"]
assert p["logsConfig"]["cloudWatchLogs"]["status"] == "ENABLED" and p["logsConfig"]["s3Logs"]["status"] == "DISABLED", p["logsConfig"]
# Timestamps arrive as epoch numbers that botocore turns into aware datetimes.
assert isinstance(p["created"], datetime.datetime) and p["created"].tzinfo is not None, p["created"]
assert abs(p["created"].timestamp() - time.time()) < 60, p["created"]
msg = fails("ResourceAlreadyExistsException", cb.create_project, name="py-proj", source={"type": "NO_SOURCE"},
            artifacts={"type": "NO_ARTIFACTS"}, environment=p["environment"], serviceRole=ROLE)
assert msg == "Project already exists: " + p["arn"], msg
msg = fails("InvalidInputException", cb.create_project, name="py proj", source={"type": "NO_SOURCE"},
            artifacts={"type": "NO_ARTIFACTS"}, environment=p["environment"], serviceRole=ROLE)
assert "Member must satisfy regular expression pattern" in msg, msg
msg = fails("InvalidInputException", cb.create_project, name="py-lambda", source={"type": "NO_SOURCE"},
            artifacts={"type": "NO_ARTIFACTS"}, serviceRole=ROLE,
            environment={"type": "LINUX_CONTAINER", "image": "i", "computeType": "BUILD_LAMBDA_4GB"})
assert "BUILD_LAMBDA_4GB" in msg, msg

u = cb.update_project(name="py-proj", description="d", queuedTimeoutInMinutes=30)["project"]
assert u["description"] == "d" and u["queuedTimeoutInMinutes"] == 30 and u["timeoutInMinutes"] == 60, u
assert u["source"]["buildspec"] == SPEC and u["lastModified"] >= u["created"], u
fails("ResourceNotFoundException", cb.update_project, name="py-none", description="x")

got = cb.batch_get_projects(names=["py-none", p["arn"]])
assert [x["name"] for x in got["projects"]] == ["py-proj"], got["projects"]
assert got["projectsNotFound"] == ["py-none"], got
project("py-sleep", SLEEP)
# Other scripts run beside this one: look only at this one's names.
mine = lambda ids: [i for i in ids if i.split(":")[0] in ("py-proj", "py-sleep")]
names = mine(cb.list_projects(sortBy="CREATED_TIME", sortOrder="DESCENDING")["projects"])
assert names == ["py-sleep", "py-proj"], names

b = cb.start_build(projectName="py-proj", environmentVariablesOverride=[{"name": "WHO", "value": "boto3"}],
                   imageOverride="py/image:3", computeTypeOverride="BUILD_GENERAL1_MEDIUM",
                   environmentTypeOverride="LINUX_CONTAINER", timeoutInMinutesOverride=9,
                   sourceTypeOverride="NO_SOURCE", idempotencyToken="py-tok")["build"]
assert re.fullmatch(r"py-proj:[0-9a-f-]{36}", b["id"]), b["id"]
assert b["arn"] == "arn:aws:codebuild:us-east-1:%s:build/%s" % (ACCOUNT, b["id"]), b["arn"]
assert b["buildNumber"] == 1 and b["buildStatus"] == "IN_PROGRESS" and b["currentPhase"] == "QUEUED", b
assert [ph["phaseType"] for ph in b["phases"]] == ["SUBMITTED", "QUEUED"], b["phases"]
assert b["environment"]["image"] == "py/image:3" and b["environment"]["computeType"] == "BUILD_GENERAL1_MEDIUM", b["environment"]
assert b["timeoutInMinutes"] == 9, b
same = cb.start_build(projectName="py-proj", environmentVariablesOverride=[{"name": "WHO", "value": "boto3"}],
                      imageOverride="py/image:3", computeTypeOverride="BUILD_GENERAL1_MEDIUM",
                      environmentTypeOverride="LINUX_CONTAINER", timeoutInMinutesOverride=9,
                      sourceTypeOverride="NO_SOURCE", idempotencyToken="py-tok")["build"]
assert same["id"] == b["id"], (same["id"], b["id"])
fails("InvalidInputException", cb.start_build, projectName="py-proj", idempotencyToken="py-tok")
fails("ResourceNotFoundException", cb.start_build, projectName="py-none")
fails("InvalidInputException", cb.start_build, projectName="py-proj", timeoutInMinutesOverride=2161)

d = wait_build(b["id"])
assert d["buildStatus"] == "SUCCEEDED" and d["currentPhase"] == "COMPLETED", d
assert isinstance(d["endTime"], datetime.datetime) and d["endTime"] >= d["startTime"], d
assert d["logs"]["groupName"] == "/aws/codebuild/py-proj" and d["logs"]["streamName"] == b["id"].split(":")[1], d["logs"]
assert "py boto3" in log_lines(d["logs"]["groupName"], d["logs"]["streamName"])

missing = "py-proj:00000000-0000-4000-8000-000000000000"
got = cb.batch_get_builds(ids=[missing, b["id"]])
assert [x["id"] for x in got["builds"]] == [b["id"]] and got["buildsNotFound"] == [missing], got

s = cb.start_build(projectName="py-sleep")["build"]
deadline = time.time() + 20
while cb.batch_get_builds(ids=[s["id"]])["builds"][0]["currentPhase"] != "BUILD":
    assert time.time() < deadline, "sleep build never reached BUILD"
    time.sleep(0.02)
deleted = cb.batch_delete_builds(ids=[s["id"], missing])
assert deleted["buildsDeleted"] == [] and sorted(n["statusCode"] for n in deleted["buildsNotDeleted"]) == ["BUILD_IN_PROGRESS", "BUILD_NOT_FOUND"], deleted
st = cb.stop_build(id=s["id"])["build"]
# StopBuild waits a bounded time for the end: on a loaded machine the
# answer may still show the build in progress.
assert st["id"] == s["id"] and st["buildStatus"] in ("STOPPED", "IN_PROGRESS"), st
assert wait_build(s["id"])["buildStatus"] == "STOPPED"
again = cb.stop_build(id=b["id"])["build"]
assert again["buildStatus"] == "SUCCEEDED" and again["endTime"] == d["endTime"], again
assert fails("InvalidInputException", cb.stop_build, id="nope") == "Invalid build ID provided"
fails("ResourceNotFoundException", cb.stop_build, id=missing)

rb = cb.retry_build(id=b["id"])["build"]
assert rb["id"] != b["id"] and rb["buildNumber"] == 2 and rb["environment"]["image"] == "py/image:3", rb
assert rb["environment"]["environmentVariables"] == [{"name": "WHO", "value": "boto3", "type": "PLAINTEXT"}], rb["environment"]
rd = wait_build(rb["id"])
assert rd["buildStatus"] == "SUCCEEDED", rd
fails("InvalidInputException", cb.retry_build, id="nope")
fails("ResourceNotFoundException", cb.retry_build, id=missing)

ids = cb.list_builds_for_project(projectName="py-proj")["ids"]
assert ids == [rb["id"], b["id"]], ids
ids = cb.list_builds_for_project(projectName="py-proj", sortOrder="ASCENDING")["ids"]
assert ids == [b["id"], rb["id"]], ids
assert mine(cb.list_builds()["ids"]) == [rb["id"], s["id"], b["id"]]
assert mine(cb.list_builds(sortOrder="ASCENDING")["ids"]) == [b["id"], s["id"], rb["id"]]

deleted = cb.batch_delete_builds(ids=[b["id"], rb["id"], s["id"]])
assert sorted(deleted["buildsDeleted"]) == sorted([b["id"], rb["id"], s["id"]]) and deleted["buildsNotDeleted"] == [], deleted
n = cb.start_build(projectName="py-proj")["build"]
assert n["buildNumber"] == 3, n["buildNumber"]
wait_build(n["id"])

cb.delete_project(name="py-proj")
cb.delete_project(name="py-proj")
fails("ResourceNotFoundException", cb.list_builds_for_project, projectName="py-proj")
assert cb.batch_get_projects(names=["py-proj"])["projectsNotFound"] == ["py-proj"]
`

const boto3Logs = `
project("py-logs", "version: 0.2\nphases:\n  build:\n    commands:\n      - for i in 1 2 3 4 5 6 7 8 9; do echo ev\"\"ent-$i; done\n")
b = wait_build(cb.start_build(projectName="py-logs")["build"]["id"])
group, stream = b["logs"]["groupName"], b["logs"]["streamName"]
lines = log_lines(group, stream)
assert [l for l in lines if l.startswith("event-")] == ["event-%d" % i for i in range(1, 10)], lines
assert re.match(r"\[Container\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} ", lines[0]), lines[0]

# Forward paging with a limit: the token repeats at the end.
token, paged = None, []
for _ in range(100):
    kw = {"nextToken": token} if token else {}
    out = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, limit=4, **kw)
    assert len(out["events"]) <= 4
    paged += [e["message"].rstrip("\n") for e in out["events"]]
    if out["nextForwardToken"] == token:
        break
    token = out["nextForwardToken"]
assert paged == lines, (paged, lines)
newest = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=2)["events"]
assert [e["message"].rstrip("\n") for e in newest] == lines[-2:], newest

f1 = logs.filter_log_events(logGroupName=group, filterPattern="event")["events"]
f2 = logs.filter_log_events(logGroupName=group, logStreamNames=[stream], filterPattern="event")["events"]
assert [e["message"] for e in f1] == ["event-%d\n" % i for i in range(1, 10)], f1
assert [e["eventId"] for e in f1] == [e["eventId"] for e in f2] and len({e["eventId"] for e in f1}) == 9
assert all(e["logStreamName"] == stream for e in f1)

groups = logs.describe_log_groups(logGroupNamePrefix="/aws/codebuild/py-logs")["logGroups"]
assert [g["logGroupName"] for g in groups] == [group], groups
streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
assert [s["logStreamName"] for s in streams] == [stream], streams
assert fails("ResourceNotFoundException", logs.get_log_events, logGroupName=group, logStreamName="nope") == "The specified log stream does not exist."
fails("ResourceNotFoundException", logs.describe_log_streams, logGroupName="/aws/codebuild/py-none")
fails("ResourceNotFoundException", logs.filter_log_events, logGroupName="/aws/codebuild/py-none")
`

const boto3SSM = `
assert ssm.put_parameter(Name="/py/a", Value="1", Type="String")["Version"] == 1
ssm.put_parameter(Name="/py/list", Value="x,y", Type="StringList")
ssm.put_parameter(Name="/py/deep/s", Value="secret", Type="SecureString")
fails("ParameterAlreadyExists", ssm.put_parameter, Name="/py/a", Value="2", Type="String")
assert ssm.put_parameter(Name="/py/a", Value="2", Type="String", Overwrite=True)["Version"] == 2
p = ssm.get_parameter(Name="/py/a")["Parameter"]
assert p["Value"] == "2" and p["Version"] == 2 and p["ARN"] == "arn:aws:ssm:us-east-1:%s:parameter/py/a" % ACCOUNT, p
assert isinstance(p["LastModifiedDate"], datetime.datetime), p
assert ssm.get_parameter(Name="/py/deep/s", WithDecryption=True)["Parameter"]["Value"] == "secret"
assert ssm.get_parameter(Name="/py/deep/s")["Parameter"]["Value"] != "secret"
assert ssm.get_parameter(Name="/py/a:1")["Parameter"]["Value"] == "1"
fails("ParameterNotFound", ssm.get_parameter, Name="/py/none")
got = ssm.get_parameters(Names=["/py/a", "/py/none", "/py/list"])
assert sorted(p["Name"] for p in got["Parameters"]) == ["/py/a", "/py/list"] and got["InvalidParameters"] == ["/py/none"], got
names = []
for page in ssm.get_paginator("get_parameters_by_path").paginate(Path="/py", Recursive=True, PaginationConfig={"PageSize": 1}):
    assert len(page["Parameters"]) <= 1
    names += [p["Name"] for p in page["Parameters"]]
assert sorted(names) == ["/py/a", "/py/deep/s", "/py/list"], names
shallow = [p["Name"] for p in ssm.get_parameters_by_path(Path="/py")["Parameters"]]
assert sorted(shallow) == ["/py/a", "/py/list"], shallow
meta = {p["Name"]: p for p in ssm.describe_parameters()["Parameters"]}
assert meta["/py/deep/s"]["Type"] == "SecureString" and meta["/py/a"]["Version"] == 2, meta
ssm.delete_parameter(Name="/py/list")
fails("ParameterNotFound", ssm.delete_parameter, Name="/py/list")
fails("ParameterNotFound", ssm.get_parameter, Name="/py/list")
fails("ValidationException", ssm.put_parameter, Name="/py/bad name!", Value="x", Type="String")
`

const boto3Secrets = `
c = sm.create_secret(Name="py/db", SecretString=json.dumps({"user": "u", "pw": "1"}))
assert re.fullmatch(r"arn:aws:secretsmanager:us-east-1:%s:secret:py/db-[A-Za-z0-9]{6}" % ACCOUNT, c["ARN"]), c
fails("ResourceExistsException", sm.create_secret, Name="py/db", SecretString="x")
v2 = sm.put_secret_value(SecretId="py/db", SecretString=json.dumps({"user": "u", "pw": "2"}))
assert v2["VersionId"] != c["VersionId"] and v2["VersionStages"] == ["AWSCURRENT"], v2
for sid in ("py/db", c["ARN"]):
    g = sm.get_secret_value(SecretId=sid)
    assert json.loads(g["SecretString"])["pw"] == "2" and g["VersionId"] == v2["VersionId"] and g["ARN"] == c["ARN"], g
    assert isinstance(g["CreatedDate"], datetime.datetime)
prev = sm.get_secret_value(SecretId="py/db", VersionStage="AWSPREVIOUS")
assert json.loads(prev["SecretString"])["pw"] == "1" and prev["VersionId"] == c["VersionId"], prev
assert sm.get_secret_value(SecretId="py/db", VersionId=c["VersionId"])["VersionStages"] == ["AWSPREVIOUS"]
d = sm.describe_secret(SecretId="py/db")
assert d["VersionIdsToStages"] == {c["VersionId"]: ["AWSPREVIOUS"], v2["VersionId"]: ["AWSCURRENT"]}, d
sm.create_secret(Name="py/bin", SecretBinary=b"\x00\x01binary")
assert sm.get_secret_value(SecretId="py/bin")["SecretBinary"] == b"\x00\x01binary"
assert sorted(s["Name"] for s in sm.list_secrets()["SecretList"]) == ["py/bin", "py/db"]
dd = sm.delete_secret(SecretId="py/db", RecoveryWindowInDays=7)
left = dd["DeletionDate"] - datetime.datetime.now(datetime.timezone.utc)
assert datetime.timedelta(days=7, minutes=-1) < left < datetime.timedelta(days=7, minutes=1), left
assert "marked for deletion" in fails("InvalidRequestException", sm.get_secret_value, SecretId="py/db")
assert "DeletedDate" in sm.describe_secret(SecretId="py/db")
assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == ["py/bin"]
sm.delete_secret(SecretId="py/bin", ForceDeleteWithoutRecovery=True)
fails("ResourceNotFoundException", sm.get_secret_value, SecretId="py/bin")
fails("ResourceNotFoundException", sm.describe_secret, SecretId="py/none")
fails("InvalidParameterException", sm.delete_secret, SecretId="py/db", RecoveryWindowInDays=31)
`

const boto3S3 = `
s3.create_bucket(Bucket="py-bucket")
s3.head_bucket(Bucket="py-bucket")
assert "py-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
body = bytes(range(256)) * 8192  # 2 MiB
put = s3.put_object(Bucket="py-bucket", Key="k/one.bin", Body=body, ContentType="application/x-py", Metadata={"a": "b"})
assert re.fullmatch(r'"[0-9a-f]{32}"', put["ETag"]), put
for k in ("k/two.txt", "k/sub/three.txt", "top.txt"):
    s3.put_object(Bucket="py-bucket", Key=k, Body=k.encode())
g = s3.get_object(Bucket="py-bucket", Key="k/one.bin")
assert g["Body"].read() == body and g["ETag"] == put["ETag"] and g["ContentType"] == "application/x-py" and g["Metadata"] == {"a": "b"}, g
h = s3.head_object(Bucket="py-bucket", Key="k/one.bin")
assert h["ContentLength"] == len(body) and isinstance(h["LastModified"], datetime.datetime), h
rng = s3.get_object(Bucket="py-bucket", Key="k/one.bin", Range="bytes=256-511")
assert rng["Body"].read() == bytes(range(256)) and rng["ContentRange"] == "bytes 256-511/%d" % len(body), rng
ls = s3.list_objects_v2(Bucket="py-bucket", Prefix="k/", Delimiter="/")
assert [o["Key"] for o in ls["Contents"]] == ["k/one.bin", "k/two.txt"], ls
assert [p["Prefix"] for p in ls["CommonPrefixes"]] == ["k/sub/"], ls
keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="py-bucket", PaginationConfig={"PageSize": 2}):
    keys += [o["Key"] for o in page.get("Contents", [])]
assert keys == ["k/one.bin", "k/sub/three.txt", "k/two.txt", "top.txt"], keys
url = s3.generate_presigned_url("get_object", Params={"Bucket": "py-bucket", "Key": "top.txt"}, ExpiresIn=60)
assert urllib.request.urlopen(url).read() == b"top.txt"
s3.delete_object(Bucket="py-bucket", Key="top.txt")
fails("NoSuchKey", s3.get_object, Bucket="py-bucket", Key="top.txt")
fails("404", s3.head_object, Bucket="py-bucket", Key="top.txt")
fails("NoSuchBucket", s3.get_object, Bucket="py-nobucket", Key="k")
fails("NoSuchBucket", s3.list_objects_v2, Bucket="py-nobucket")
fails("404", s3.head_bucket, Bucket="py-nobucket")

# An empty upload (botocore sends "Expect: 100-continue") must leave the
# connection usable: one connection, no retries, a short read timeout.
one = boto3.client("s3", config=Config(s3={"addressing_style": "path"}, max_pool_connections=1,
                                       read_timeout=5, retries={"max_attempts": 0}))
import io
one.put_object(Bucket="py-bucket", Key="empty", Body=io.BytesIO(b""))
t0 = time.time()
one.put_object(Bucket="py-bucket", Key="after-empty", Body=io.BytesIO(b"x"))
assert time.time() - t0 < 2, "upload after an empty one took %.1fs" % (time.time() - t0)
assert one.get_object(Bucket="py-bucket", Key="empty")["Body"].read() == b""
assert one.head_object(Bucket="py-bucket", Key="empty")["ContentLength"] == 0
`
