// Command modelgen trims the botocore service models down to what Hangar's
// request validation needs: the input shapes of the operations Hangar serves,
// the shapes reachable from them, and their constraints. Documentation and
// output shapes are dropped so the embedded files stay small.
//
// It is run by `go generate` in internal/awsapi:
//
//	go run ./internal/modelgen -out models
//
// The botocore data directory is found through python3 unless -botocore is
// given. Output is deterministic: shapes are sorted by name, structure
// members keep the model's order (AWS reports validation errors in it).
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// service says which operations Hangar serves for one botocore model.
type service struct {
	name       string
	version    string
	operations []string
}

// extraMembers are members that AWS SDKs newer than the botocore on these
// machines send, but that botocore's model lacks. Request validation
// refuses members the model does not know, so without these those SDKs'
// requests would fail. Keep the list short, say who sends each member, and
// drop an entry once botocore has it (an entry botocore already has is
// skipped). The shape an extra member refers to must be in the model.
var extraMembers = map[string]map[string][]outMember{
	"logs": {
		// aws-sdk-go-v2/service/cloudwatchlogs v1.92 sends startFromHead
		// on FilterLogEvents; botocore 1.43 models it on GetLogEvents only.
		"FilterLogEventsRequest": {{Name: "startFromHead", Shape: "StartFromHead"}},
	},
}

var services = []service{
	{"codebuild", "2016-10-06", strings.Fields(`CreateProject UpdateProject DeleteProject BatchGetProjects
		ListProjects StartBuild StopBuild RetryBuild BatchGetBuilds ListBuilds ListBuildsForProject
		BatchDeleteBuilds CreateFleet UpdateFleet DeleteFleet BatchGetFleets ListFleets`)},
	{"logs", "2014-03-28", strings.Fields(`GetLogEvents FilterLogEvents DescribeLogGroups DescribeLogStreams
		CreateLogGroup CreateLogStream PutLogEvents DeleteLogGroup`)},
	{"ssm", "2014-11-06", strings.Fields(`PutParameter GetParameter GetParameters GetParametersByPath
		DeleteParameter DeleteParameters DescribeParameters GetParameterHistory`)},
	{"secretsmanager", "2017-10-17", strings.Fields(`CreateSecret PutSecretValue GetSecretValue DeleteSecret
		ListSecrets DescribeSecret UpdateSecret RestoreSecret`)},
	{"sts", "2011-06-15", strings.Fields(`GetCallerIdentity AssumeRole`)},
	{"iam", "2010-05-08", strings.Fields(`CreateRole GetRole DeleteRole UpdateAssumeRolePolicy PutRolePolicy
		GetRolePolicy DeleteRolePolicy ListRolePolicies AttachRolePolicy DetachRolePolicy
		ListAttachedRolePolicies CreateUser GetUser DeleteUser CreateAccessKey ListAccessKeys
		DeleteAccessKey ListRoles TagRole`)},
}

func main() {
	botocoreDir := flag.String("botocore", "", "botocore package directory (default: ask python3)")
	out := flag.String("out", "models", "output directory")
	flag.Parse()
	if err := run(*botocoreDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "modelgen:", err)
		os.Exit(1)
	}
}

func run(botocoreDir, out string) error {
	if botocoreDir == "" {
		b, err := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))").Output()
		if err != nil {
			return fmt.Errorf("locate botocore with python3 (or pass -botocore): %w", err)
		}
		botocoreDir = strings.TrimSpace(string(b))
	}
	version, err := botocoreVersion(botocoreDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	for _, svc := range services {
		path := filepath.Join(botocoreDir, "data", svc.name, svc.version, "service-2.json.gz")
		b, err := generate(path, svc, version)
		if err != nil {
			return fmt.Errorf("%s: %w", svc.name, err)
		}
		dst := filepath.Join(out, svc.name+".json")
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", dst, err)
		}
	}
	return nil
}

var versionRE = regexp.MustCompile(`(?m)^__version__\s*=\s*['"]([^'"]+)['"]`)

func botocoreVersion(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "__init__.py"))
	if err != nil {
		return "", fmt.Errorf("read botocore version: %w", err)
	}
	m := versionRE.FindSubmatch(b)
	if m == nil {
		return "", errors.New("no __version__ in botocore/__init__.py")
	}
	return string(m[1]), nil
}

// Input model (botocore's service-2.json), only the parts we read.
type inModel struct {
	Metadata   map[string]any             `json:"metadata"`
	Operations map[string]inOperation     `json:"operations"`
	Shapes     map[string]json.RawMessage `json:"shapes"`
}

type inOperation struct {
	Input *struct {
		Shape string `json:"shape"`
	} `json:"input"`
}

type inRef struct {
	Shape        string `json:"shape"`
	LocationName string `json:"locationName"`
}

type inShape struct {
	Type            string       `json:"type"`
	Required        []string     `json:"required"`
	Member          *inRef       `json:"member"`
	Key             *inRef       `json:"key"`
	Value           *inRef       `json:"value"`
	Enum            []string     `json:"enum"`
	Min             *json.Number `json:"min"`
	Max             *json.Number `json:"max"`
	Pattern         string       `json:"pattern"`
	Sensitive       bool         `json:"sensitive"`
	Union           bool         `json:"union"`
	Document        bool         `json:"document"`
	Flattened       bool         `json:"flattened"`
	TimestampFormat string       `json:"timestampFormat"`
}

// Output model: see internal/awsapi/model.go, which reads it.
type outModel struct {
	Metadata   outMetadata          `json:"metadata"`
	Operations map[string]string    `json:"operations"`
	Shapes     map[string]*outShape `json:"shapes"`
}

type outMetadata struct {
	Service      string `json:"service"`
	APIVersion   string `json:"apiVersion"`
	Protocol     string `json:"protocol"`
	TargetPrefix string `json:"targetPrefix,omitempty"`
	SigningName  string `json:"signingName"`
	XMLNamespace string `json:"xmlNamespace,omitempty"`
	Source       string `json:"source"`
}

type outShape struct {
	Type            string       `json:"type"`
	Required        []string     `json:"required,omitempty"`
	Members         []outMember  `json:"members,omitempty"`
	Member          string       `json:"member,omitempty"`
	MemberLocation  string       `json:"memberLocationName,omitempty"`
	Key             string       `json:"key,omitempty"`
	Value           string       `json:"value,omitempty"`
	Enum            []string     `json:"enum,omitempty"`
	Min             *json.Number `json:"min,omitempty"`
	Max             *json.Number `json:"max,omitempty"`
	Pattern         string       `json:"pattern,omitempty"`
	Sensitive       bool         `json:"sensitive,omitempty"`
	Union           bool         `json:"union,omitempty"`
	Document        bool         `json:"document,omitempty"`
	Flattened       bool         `json:"flattened,omitempty"`
	TimestampFormat string       `json:"timestampFormat,omitempty"`
}

type outMember struct {
	Name         string `json:"name"`
	Shape        string `json:"shape"`
	LocationName string `json:"locationName,omitempty"`
}

func generate(path string, svc service, botocore string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open model: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("gunzip %s: %w", path, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var in inModel
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}

	str := func(k string) string { s, _ := in.Metadata[k].(string); return s }
	out := outModel{
		Metadata: outMetadata{
			Service:      svc.name,
			APIVersion:   str("apiVersion"),
			Protocol:     str("protocol"),
			TargetPrefix: str("targetPrefix"),
			SigningName:  str("signingName"),
			XMLNamespace: str("xmlNamespace"),
			Source:       fmt.Sprintf("botocore %s data/%s/%s/service-2.json", botocore, svc.name, svc.version),
		},
		Operations: make(map[string]string),
		Shapes:     make(map[string]*outShape),
	}
	if out.Metadata.SigningName == "" {
		out.Metadata.SigningName = str("endpointPrefix")
	}

	var queue []string
	for _, op := range svc.operations {
		o, ok := in.Operations[op]
		if !ok {
			return nil, fmt.Errorf("operation %s not in the model", op)
		}
		input := ""
		if o.Input != nil {
			input = o.Input.Shape
			queue = append(queue, input)
		}
		out.Operations[op] = input
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if _, done := out.Shapes[name]; done {
			continue
		}
		rawShape, ok := in.Shapes[name]
		if !ok {
			return nil, fmt.Errorf("shape %s not in the model", name)
		}
		s, refs, err := convertShape(rawShape)
		if err != nil {
			return nil, fmt.Errorf("shape %s: %w", name, err)
		}
		refs = append(refs, addExtra(s, extraMembers[svc.name][name])...)
		out.Shapes[name] = s
		queue = append(queue, refs...)
	}
	for name := range extraMembers[svc.name] {
		if _, ok := out.Shapes[name]; !ok {
			return nil, fmt.Errorf("extra members for shape %s, which no served operation uses", name)
		}
	}
	return encode(out)
}

// addExtra adds the extra members s lacks and returns the shapes they
// refer to.
func addExtra(s *outShape, extra []outMember) []string {
	var refs []string
	for _, m := range extra {
		if slices.ContainsFunc(s.Members, func(have outMember) bool { return have.Name == m.Name }) {
			continue
		}
		s.Members = append(s.Members, m)
		refs = append(refs, m.Shape)
	}
	return refs
}

func convertShape(raw json.RawMessage) (*outShape, []string, error) {
	var s inShape
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil {
		return nil, nil, err
	}
	o := &outShape{
		Type: s.Type, Required: s.Required, Enum: s.Enum, Min: s.Min, Max: s.Max,
		Pattern: s.Pattern, Sensitive: s.Sensitive, Union: s.Union, Document: s.Document,
		Flattened: s.Flattened, TimestampFormat: s.TimestampFormat,
	}
	var refs []string
	if s.Member != nil {
		o.Member, o.MemberLocation = s.Member.Shape, s.Member.LocationName
		refs = append(refs, s.Member.Shape)
	}
	if s.Key != nil {
		o.Key = s.Key.Shape
		refs = append(refs, s.Key.Shape)
	}
	if s.Value != nil {
		o.Value = s.Value.Shape
		refs = append(refs, s.Value.Shape)
	}
	if s.Type == "structure" {
		members, err := orderedMembers(raw)
		if err != nil {
			return nil, nil, err
		}
		o.Members = members
		for _, m := range members {
			refs = append(refs, m.Shape)
		}
	}
	return o, refs, nil
}

// orderedMembers reads a structure's "members" object keeping the key order,
// which encoding/json maps would lose.
func orderedMembers(raw json.RawMessage) ([]outMember, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	membersRaw, ok := top["members"]
	if !ok {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(membersRaw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("members is not an object")
	}
	var out []outMember
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := t.(string)
		var ref inRef
		if err := dec.Decode(&ref); err != nil {
			return nil, fmt.Errorf("member %s: %w", name, err)
		}
		out = append(out, outMember{Name: name, Shape: ref.Shape, LocationName: ref.LocationName})
	}
	return out, nil
}

// encode writes one shape per line so diffs of regenerated models stay
// readable, with sorted keys so the output is deterministic.
func encode(m outModel) ([]byte, error) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	marshal := func(v any) (string, error) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSuffix(b.String(), "\n"), nil
	}
	meta, err := marshal(m.Metadata)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "{\n\"metadata\":%s,\n\"operations\":{\n", meta)
	writeSorted := func(keys []string, value func(string) (string, error)) error {
		sort.Strings(keys)
		for i, k := range keys {
			kq, _ := marshal(k)
			v, err := value(k)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			sep := ","
			if i == len(keys)-1 {
				sep = ""
			}
			fmt.Fprintf(w, "%s:%s%s\n", kq, v, sep)
		}
		return nil
	}
	var opNames []string
	for k := range m.Operations {
		opNames = append(opNames, k)
	}
	if err := writeSorted(opNames, func(k string) (string, error) { return marshal(m.Operations[k]) }); err != nil {
		return nil, err
	}
	fmt.Fprint(w, "},\n\"shapes\":{\n")
	var shapeNames []string
	for k := range m.Shapes {
		shapeNames = append(shapeNames, k)
	}
	if err := writeSorted(shapeNames, func(k string) (string, error) { return marshal(m.Shapes[k]) }); err != nil {
		return nil, err
	}
	fmt.Fprint(w, "}\n}\n")
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
