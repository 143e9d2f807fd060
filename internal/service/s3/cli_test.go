package s3

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// clientEnv is the environment for the aws CLI and boto3: dummy keys, no
// shared config, and the test server's certificate as the CA bundle.
func (f *fixture) clientEnv() []string {
	f.t.Helper()
	dir := f.t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
	}
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION", "PYTHONPATH", "LANG", "LC_ALL"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if cert := f.srv.Certificate(); cert != nil {
		p := filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
			f.t.Fatal(err)
		}
		env = append(env, "AWS_CA_BUNDLE="+p)
	}
	return env
}

func (f *fixture) aws(env []string, args ...string) string {
	f.t.Helper()
	args = append(args, "--endpoint-url", f.srv.URL, "--region", "us-east-1")
	cmd := exec.Command("aws", args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		f.t.Fatalf("aws %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: one Python start-up per command")
	}
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not on PATH")
	}
	// Over HTTPS, where botocore streams uploads as aws-chunked with a
	// trailing checksum (boto3 below covers plain HTTP too). Each CLI
	// run costs a Python start-up, so the list is short.
	f := newFixture(t, true)
	env := f.clientEnv()
	dir := t.TempDir()
	small := filepath.Join(dir, "small file ä.txt")
	os.WriteFile(small, []byte("small content\n"), 0o644)
	big := filepath.Join(dir, "big.bin")
	data := make([]byte, 20<<20) // over the CLI's 8 MB multipart threshold
	rand.NewChaCha8([32]byte{7}).Read(data)
	os.WriteFile(big, data, 0o644)

	f.aws(env, "s3", "mb", "s3://cli-bucket")
	f.aws(env, "s3", "cp", small, "s3://cli-bucket/dir/small file ä.txt")
	f.aws(env, "s3", "cp", big, "s3://cli-bucket/dir/big.bin")

	ls := f.aws(env, "s3", "ls", "s3://cli-bucket/dir/")
	if !strings.Contains(ls, "small file ä.txt") || !strings.Contains(ls, "big.bin") || !strings.Contains(ls, "20971520") {
		t.Fatalf("aws s3 ls dir/:\n%s", ls)
	}
	if ls := f.aws(env, "s3", "ls", "s3://cli-bucket"); !strings.Contains(ls, "PRE dir/") {
		t.Fatalf("aws s3 ls:\n%s", ls)
	}
	if ls := f.aws(env, "s3", "ls"); !strings.Contains(ls, "cli-bucket") {
		t.Fatalf("aws s3 ls (buckets):\n%s", ls)
	}

	down := filepath.Join(dir, "down.bin")
	f.aws(env, "s3", "cp", "s3://cli-bucket/dir/big.bin", down)
	if got, _ := os.ReadFile(down); !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes that differ from the upload", len(got))
	}
	f.aws(env, "s3", "cp", "s3://cli-bucket/dir/small file ä.txt", filepath.Join(dir, "small.down"))
	if got, _ := os.ReadFile(filepath.Join(dir, "small.down")); string(got) != "small content\n" {
		t.Fatalf("downloaded %q", got)
	}

	var head struct {
		ContentLength int64
		ETag          string
	}
	out := f.aws(env, "s3api", "head-object", "--bucket", "cli-bucket", "--key", "dir/big.bin")
	if err := json.Unmarshal([]byte(out), &head); err != nil {
		t.Fatalf("head-object output %q: %v", out, err)
	}
	if head.ContentLength != int64(len(data)) || !strings.HasSuffix(head.ETag, `-3"`) {
		t.Fatalf("head-object = %+v (want a 3-part multipart ETag)", head)
	}

	f.aws(env, "s3", "rm", "s3://cli-bucket/dir/small file ä.txt")
	if ls := f.aws(env, "s3", "ls", "s3://cli-bucket/dir/"); strings.Contains(ls, "small") {
		t.Fatalf("after rm:\n%s", ls)
	}
	f.aws(env, "s3", "rb", "--force", "s3://cli-bucket")
	if ls := f.aws(env, "s3", "ls"); strings.Contains(ls, "cli-bucket") {
		t.Fatalf("after rb:\n%s", ls)
	}
	if n := f.blobCount(); n != 0 {
		t.Fatalf("%d blobs left after rb --force", n)
	}
	if !f.sawRequest("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "aws-chunked") {
		t.Fatal("the aws CLI sent no aws-chunked body over HTTPS")
	}
}

const boto3Script = `
import sys, io
import boto3, botocore
from boto3.s3.transfer import TransferConfig
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
s3.create_bucket(Bucket="boto-bucket")
s3.put_object(Bucket="boto-bucket", Key="a/one.txt", Body=b"one", ContentType="text/plain", Metadata={"k": "v"})
s3.put_object(Bucket="boto-bucket", Key="a/b/two.txt", Body=b"two")
s3.put_object(Bucket="boto-bucket", Key="top.txt", Body=b"top")
o = s3.get_object(Bucket="boto-bucket", Key="a/one.txt")
assert o["Body"].read() == b"one", o
assert o["ContentType"] == "text/plain" and o["Metadata"] == {"k": "v"}, o
r = s3.get_object(Bucket="boto-bucket", Key="a/one.txt", Range="bytes=1-")
assert r["Body"].read() == b"ne" and r["ContentRange"] == "bytes 1-2/3", r
h = s3.head_object(Bucket="boto-bucket", Key="top.txt")
assert h["ContentLength"] == 3, h
l = s3.list_objects_v2(Bucket="boto-bucket", Delimiter="/")
assert [c["Key"] for c in l["Contents"]] == ["top.txt"], l
assert [p["Prefix"] for p in l["CommonPrefixes"]] == ["a/"], l
keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="boto-bucket", PaginationConfig={"PageSize": 1}):
    keys += [c["Key"] for c in page.get("Contents", [])]
assert keys == ["a/b/two.txt", "a/one.txt", "top.txt"], keys
v1 = s3.list_objects(Bucket="boto-bucket", Prefix="a/")
assert [c["Key"] for c in v1["Contents"]] == ["a/b/two.txt", "a/one.txt"], v1
data = bytes(range(256)) * 40000  # 10 MB, multipart with 5 MB parts
s3.upload_fileobj(io.BytesIO(data), "boto-bucket", "big.bin",
                  Config=TransferConfig(multipart_threshold=5*1024*1024, multipart_chunksize=5*1024*1024))
buf = io.BytesIO()
s3.download_fileobj("boto-bucket", "big.bin", buf)
assert buf.getvalue() == data
assert s3.head_object(Bucket="boto-bucket", Key="big.bin")["ETag"].endswith('-2"')
try:
    s3.get_object(Bucket="boto-bucket", Key="missing")
    raise SystemExit("no error for a missing key")
except s3.exceptions.NoSuchKey as e:
    assert e.response["Error"]["Code"] == "NoSuchKey"
try:
    s3.list_objects_v2(Bucket="no-such-bucket")
    raise SystemExit("no error for a missing bucket")
except s3.exceptions.NoSuchBucket:
    pass
try:
    s3.head_object(Bucket="boto-bucket", Key="missing")
    raise SystemExit("no error for a missing key")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "404", e.response
try:
    s3.delete_bucket(Bucket="boto-bucket")
    raise SystemExit("deleted a non-empty bucket")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "BucketNotEmpty", e.response
d = s3.delete_objects(Bucket="boto-bucket", Delete={"Objects": [{"Key": k} for k in ["a/one.txt", "a/b/two.txt", "top.txt", "big.bin"]]})
assert len(d["Deleted"]) == 4, d
s3.delete_bucket(Bucket="boto-bucket")
print("OK")
`

func TestBoto3(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("boto3 not installed")
	}
	for _, useTLS := range []bool{false, true} {
		name := "http"
		if useTLS {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, useTLS)
			cmd := exec.Command("python3", "-c", boto3Script, f.srv.URL)
			cmd.Env = f.clientEnv()
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "OK") {
				t.Fatalf("boto3: %v\n%s", err, out)
			}
			if n := f.blobCount(); n != 0 {
				t.Fatalf("%d blobs left", n)
			}
			if useTLS && !f.sawRequest("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "aws-chunked") {
				t.Fatal("boto3 sent no aws-chunked body over HTTPS")
			}
		})
	}
}
