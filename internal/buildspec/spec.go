package buildspec

import "github.com/hangarci/hangar/internal/model"

// Spec is a parsed, validated buildspec.
type Spec struct {
	Version   string // "0.2" or "0.1" (0.1 runs every command in its own shell)
	RunAs     string // Linux user for every phase unless the phase says otherwise
	Env       Env
	Phases    Phases
	Artifacts *Artifacts // nil when the buildspec has no artifacts section
	Reports   []Report   // in file order
	Cache     *Cache     // nil when the buildspec has no cache section
	Proxy     *Proxy     // nil when absent
	// Batch is kept as plain data (map[string]any, []any, string, nil):
	// Hangar does not run batch builds yet.
	Batch any
	// Warnings lists unknown keys; CodeBuild logs them and goes on.
	Warnings []Warning
}

// Var is one name/value pair, kept in file order.
type Var struct {
	Name  string
	Value string
}

// Env is the env section.
type Env struct {
	Shell               string
	Variables           []Var // plain text, no $VAR expansion
	ParameterStore      []Var // name → SSM parameter name
	SecretsManager      []Var // name → secret-id[:json-key[:version-stage[:version-id]]]
	ExportedVariables   []string
	GitCredentialHelper bool
}

// Phases holds the four buildspec phases; a nil one is absent.
type Phases struct {
	Install   *Phase
	PreBuild  *Phase
	Build     *Phase
	PostBuild *Phase
}

// Get returns the phase called name (INSTALL, …), or nil when it is absent
// or not a buildspec phase.
func (p *Phases) Get(name string) *Phase {
	switch name {
	case model.PhaseInstall:
		return p.Install
	case model.PhasePreBuild:
		return p.PreBuild
	case model.PhaseBuild:
		return p.Build
	case model.PhasePostBuild:
		return p.PostBuild
	}
	return nil
}

// NamedPhase is a phase with its API name.
type NamedPhase struct {
	Name  string // INSTALL, PRE_BUILD, BUILD or POST_BUILD
	Phase *Phase
}

// List returns the phases the buildspec has, in run order.
func (p *Phases) List() []NamedPhase {
	var out []NamedPhase
	for _, name := range PhaseNames() {
		if ph := p.Get(name); ph != nil {
			out = append(out, NamedPhase{Name: name, Phase: ph})
		}
	}
	return out
}

func (p *Phases) set(name string, ph *Phase) {
	switch name {
	case model.PhaseInstall:
		p.Install = ph
	case model.PhasePreBuild:
		p.PreBuild = ph
	case model.PhaseBuild:
		p.Build = ph
	case model.PhasePostBuild:
		p.PostBuild = ph
	}
}

// Phase is one buildspec phase.
type Phase struct {
	Name            string    // INSTALL, PRE_BUILD, BUILD or POST_BUILD
	RunAs           string    // overrides Spec.RunAs when set
	OnFailure       OnFailure // zero value: default transition rules
	RuntimeVersions []Var     // install only: runtime → version, in file order
	Commands        []string  // exact text, multi-line blocks included
	Finally         []string
	Line            int // line of the phase key
}

// Artifacts is the artifacts section (also the shape of each secondary artifact).
type Artifacts struct {
	Files          []string
	Name           string
	DiscardPaths   bool
	BaseDirectory  string
	ExcludePaths   []string
	EnableSymlinks bool
	S3Prefix       string
	Secondary      []SecondaryArtifact // in file order
}

// SecondaryArtifact is one entry of artifacts.secondary-artifacts.
type SecondaryArtifact struct {
	Identifier string
	Artifacts  Artifacts // Secondary is always empty here
}

// Report is one report group of the reports section.
type Report struct {
	Name          string // report group name or ARN
	Files         []string
	BaseDirectory string
	DiscardPaths  bool
	FileFormat    string // as written; JUNITXML when absent
}

// Cache is the cache section.
type Cache struct {
	Key          string
	FallbackKeys []string
	Action       string // "", "restore" or "save"
	Paths        []string
}

// Proxy is the proxy section.
type Proxy struct {
	UploadArtifacts bool
	Logs            bool
}
