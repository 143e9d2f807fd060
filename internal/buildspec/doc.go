// Package buildspec parses and validates CodeBuild buildspecs (version 0.2, and
// the legacy 0.1) and holds the phase transition rules the runner follows.
//
// Parse returns a typed *Spec or an *Error whose Message is what CodeBuild
// shows after "Phase context status code: YAML_FILE_ERROR Message: " when
// DOWNLOAD_SOURCE fails. Where CodeBuild's wording is known from real build
// logs it is used verbatim; the rest follows the same style (see errors.go).
//
// Decisions, and why:
//
//   - Unknown keys (top level, in env, in a phase, in artifacts, …) are not
//     errors: CodeBuild logs "Found possible syntax errors in buildspec: … The
//     following keys cannot be identified" and runs the build anyway. Parse
//     collects them in Spec.Warnings; Spec.SyntaxWarnings renders CodeBuild's
//     text for the build log.
//   - An unknown phase name under phases is an error, as in CodeBuild
//     ("Invalid buildspec phase name: X. Expecting: build,install,post_build,pre_build").
//   - A missing or empty phases section is an error. CodeBuild's agent has
//     been seen running a buildspec with zero phases (batch parents), but
//     Hangar runs no batch builds, and a buildspec that runs nothing is
//     almost always the wrong file.
//   - YAML scalars where a string is expected become their source text, as
//     CodeBuild's Go agent does (PORT: 5432 is "5432", python: 3.10 is
//     "3.10", FLAG: yes is "yes"); null becomes "". A map or a list there is
//     an error.
//   - on-failure ABORT ends the buildspec phases and skips UPLOAD_ARTIFACTS:
//     the build goes straight to FINALIZING, like an INSTALL or PRE_BUILD
//     failure. An aborted build has no complete output to publish, and this
//     is what users who add ABORT ask for: stop at the first failure.
//   - RETRY is a retry decision (OnFailure.ShouldRetry); once retries are
//     used up, or the message does not match, the default transition applies.
//
// Phases are named as the API names them (model.PhaseInstall, …). The
// transition functions NextPhase and NextPhaseAfterFailure answer which
// phase runs next, with "" meaning FINALIZING, which always runs.
//
// Work is bounded: input size, YAML tokens, mapping entries, flow nesting,
// tree depth and the number of nodes after alias expansion are capped, so an
// alias bomb or a pathological document fails fast with an *Error instead of
// burning CPU (go-yaml's parser is quadratic in some shapes).
package buildspec
