package model

import "strings"

// Compute types.
const (
	ComputeSmall    = "BUILD_GENERAL1_SMALL"
	ComputeMedium   = "BUILD_GENERAL1_MEDIUM"
	ComputeLarge    = "BUILD_GENERAL1_LARGE"
	ComputeXLarge   = "BUILD_GENERAL1_XLARGE"
	Compute2XLarge  = "BUILD_GENERAL1_2XLARGE"
	ComputeLambda1  = "BUILD_LAMBDA_1GB"
	ComputeLambda2  = "BUILD_LAMBDA_2GB"
	ComputeLambda4  = "BUILD_LAMBDA_4GB"
	ComputeLambda8  = "BUILD_LAMBDA_8GB"
	ComputeLambda10 = "BUILD_LAMBDA_10GB"
)

// Environment types Hangar runs.
const (
	EnvLinuxContainer       = "LINUX_CONTAINER"
	EnvArmContainer         = "ARM_CONTAINER"
	EnvLinuxLambdaContainer = "LINUX_LAMBDA_CONTAINER"
	EnvArmLambdaContainer   = "ARM_LAMBDA_CONTAINER"
)

// Size is what a compute type grants a build.
type Size struct {
	VCPU     float64
	MemoryMB int64
	DiskGB   int64
}

const gb = 1024

// sizes follows the CodeBuild user guide's on-demand table (Linux and ARM
// containers) and the Lambda memory sizes; Lambda gets CPU in proportion to
// memory, as the Lambda platform does (about 6 vCPU at 10 GB).
var sizes = map[string][2]Size{ // [LINUX_CONTAINER, ARM_CONTAINER]
	ComputeSmall:    {{2, 3 * gb, 64}, {2, 4 * gb, 64}},
	ComputeMedium:   {{4, 7 * gb, 128}, {4, 8 * gb, 128}},
	ComputeLarge:    {{8, 15 * gb, 128}, {8, 16 * gb, 128}},
	ComputeXLarge:   {{36, 70 * gb, 256}, {32, 64 * gb, 256}},
	Compute2XLarge:  {{72, 145 * gb, 824}, {48, 96 * gb, 824}},
	ComputeLambda1:  {{0.6, 1 * gb, 10}, {0.6, 1 * gb, 10}},
	ComputeLambda2:  {{1.2, 2 * gb, 10}, {1.2, 2 * gb, 10}},
	ComputeLambda4:  {{2.4, 4 * gb, 10}, {2.4, 4 * gb, 10}},
	ComputeLambda8:  {{4.8, 8 * gb, 10}, {4.8, 8 * gb, 10}},
	ComputeLambda10: {{6, 10 * gb, 10}, {6, 10 * gb, 10}},
}

// SizeOf returns what computeType grants on envType, and false for compute
// types Hangar does not size (attribute-based, custom instance types).
func SizeOf(computeType, envType string) (Size, bool) {
	s, ok := sizes[computeType]
	if !ok {
		return Size{}, false
	}
	if strings.HasPrefix(envType, "ARM") {
		return s[1], true
	}
	return s[0], true
}

// IsLambdaCompute reports whether computeType is a Lambda compute type.
func IsLambdaCompute(computeType string) bool {
	return strings.HasPrefix(computeType, "BUILD_LAMBDA_")
}

// IsLambdaEnvironment reports whether envType is a Lambda environment type.
func IsLambdaEnvironment(envType string) bool {
	return strings.HasSuffix(envType, "_LAMBDA_CONTAINER")
}
