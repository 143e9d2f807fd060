package model

import (
	"encoding/json"
	"strings"
)

// Compute types.
const (
	ComputeSmall          = "BUILD_GENERAL1_SMALL"
	ComputeMedium         = "BUILD_GENERAL1_MEDIUM"
	ComputeLarge          = "BUILD_GENERAL1_LARGE"
	ComputeXLarge         = "BUILD_GENERAL1_XLARGE"
	Compute2XLarge        = "BUILD_GENERAL1_2XLARGE"
	ComputeLambda1        = "BUILD_LAMBDA_1GB"
	ComputeLambda2        = "BUILD_LAMBDA_2GB"
	ComputeLambda4        = "BUILD_LAMBDA_4GB"
	ComputeLambda8        = "BUILD_LAMBDA_8GB"
	ComputeLambda10       = "BUILD_LAMBDA_10GB"
	ComputeAttributeBased = "ATTRIBUTE_BASED_COMPUTE"
	ComputeCustomInstance = "CUSTOM_INSTANCE_TYPE"
)

// Environment types.
const (
	EnvLinuxContainer       = "LINUX_CONTAINER"
	EnvArmContainer         = "ARM_CONTAINER"
	EnvLinuxGPUContainer    = "LINUX_GPU_CONTAINER"
	EnvLinuxLambdaContainer = "LINUX_LAMBDA_CONTAINER"
	EnvArmLambdaContainer   = "ARM_LAMBDA_CONTAINER"
	EnvLinuxEC2             = "LINUX_EC2"
	EnvArmEC2               = "ARM_EC2"
	EnvWindowsEC2           = "WINDOWS_EC2"
	EnvMacArm               = "MAC_ARM"
)

// LambdaMaxMinutes is the longest a Lambda compute build may run: the Lambda
// platform's 15-minute limit (CodeBuild user guide, Lambda limitations).
const LambdaMaxMinutes = 15

// Size is what a compute type grants a build.
type Size struct {
	VCPU     float64
	MemoryMB int64
	DiskGB   int64
	// Pids caps processes and threads together (cgroup pids.max).
	Pids int64
}

const gb = 1024

// Process limits. CodeBuild publishes none for EC2 compute; Hangar allows
// 4,096 per vCPU, far above what builds use and far below what takes a host
// down. Lambda's is the Lambda platform's quota of 1,024 processes/threads.
const (
	pidsPerVCPU = 4096
	lambdaPids  = 1024
)

// sizes follows the CodeBuild user guide's on-demand table (Linux and ARM
// containers) and the Lambda memory sizes; Lambda gets CPU in proportion to
// memory, as the Lambda platform does (about 6 vCPU at 10 GB).
var sizes = map[string][2]Size{ // [LINUX_CONTAINER, ARM_CONTAINER]
	ComputeSmall:    {{2, 3 * gb, 64, 0}, {2, 4 * gb, 64, 0}},
	ComputeMedium:   {{4, 7 * gb, 128, 0}, {4, 8 * gb, 128, 0}},
	ComputeLarge:    {{8, 15 * gb, 128, 0}, {8, 16 * gb, 128, 0}},
	ComputeXLarge:   {{36, 70 * gb, 256, 0}, {32, 64 * gb, 256, 0}},
	Compute2XLarge:  {{72, 145 * gb, 824, 0}, {48, 96 * gb, 824, 0}},
	ComputeLambda1:  {{0.6, 1 * gb, 10, lambdaPids}, {0.6, 1 * gb, 10, lambdaPids}},
	ComputeLambda2:  {{1.2, 2 * gb, 10, lambdaPids}, {1.2, 2 * gb, 10, lambdaPids}},
	ComputeLambda4:  {{2.4, 4 * gb, 10, lambdaPids}, {2.4, 4 * gb, 10, lambdaPids}},
	ComputeLambda8:  {{4.8, 8 * gb, 10, lambdaPids}, {4.8, 8 * gb, 10, lambdaPids}},
	ComputeLambda10: {{6, 10 * gb, 10, lambdaPids}, {6, 10 * gb, 10, lambdaPids}},
}

// SizeOf returns what computeType grants on envType, and false for compute
// types Hangar does not size by name (attribute-based, custom instance types).
func SizeOf(computeType, envType string) (Size, bool) {
	s, ok := sizes[computeType]
	if !ok {
		return Size{}, false
	}
	if IsArmEnvironment(envType) {
		s[0] = s[1]
	}
	if s[0].Pids == 0 {
		s[0].Pids = int64(s[0].VCPU) * pidsPerVCPU
	}
	return s[0], true
}

// ComputeConfiguration is the attribute-based compute of a project, build or
// fleet (vCpu, memory and disk in GiB).
type ComputeConfiguration struct {
	VCPU         int64  `json:"vCpu,omitempty"`
	Memory       int64  `json:"memory,omitempty"`
	Disk         int64  `json:"disk,omitempty"`
	MachineType  string `json:"machineType,omitempty"`
	InstanceType string `json:"instanceType,omitempty"`
}

// SizeFor returns what an environment grants a build: its compute type's
// size, or for ATTRIBUTE_BASED_COMPUTE the vCPU and memory its
// computeConfiguration asks for. Other environments (a custom instance type)
// get the smallest size: Hangar cannot know what the instance holds.
func SizeFor(e *ProjectEnvironment) Size {
	if e == nil {
		s, _ := SizeOf(ComputeSmall, EnvLinuxContainer)
		return s
	}
	if s, ok := SizeOf(e.ComputeType, e.Type); ok {
		return s
	}
	s, _ := SizeOf(ComputeSmall, e.Type)
	var cc ComputeConfiguration
	if len(e.ComputeConfiguration) > 0 && json.Unmarshal(e.ComputeConfiguration, &cc) == nil && e.ComputeType == ComputeAttributeBased {
		if cc.VCPU > 0 {
			s.VCPU = float64(cc.VCPU)
			s.Pids = cc.VCPU * pidsPerVCPU
		}
		if cc.Memory > 0 {
			s.MemoryMB = cc.Memory * gb
		}
		if cc.Disk > 0 {
			s.DiskGB = cc.Disk
		}
	}
	return s
}

// IsLambdaCompute reports whether computeType is a Lambda compute type.
func IsLambdaCompute(computeType string) bool {
	return strings.HasPrefix(computeType, "BUILD_LAMBDA_")
}

// IsLambdaEnvironment reports whether envType is a Lambda environment type.
func IsLambdaEnvironment(envType string) bool {
	return strings.HasSuffix(envType, "_LAMBDA_CONTAINER")
}

// IsArmEnvironment reports whether envType runs on ARM (aarch64) machines.
func IsArmEnvironment(envType string) bool {
	return strings.HasPrefix(envType, "ARM_") || envType == EnvMacArm
}

// EnvironmentArch is the GOARCH-style architecture an environment type
// needs: "arm64" or "amd64" (Windows and GPU types are x86 machines too).
func EnvironmentArch(envType string) string {
	if IsArmEnvironment(envType) {
		return "arm64"
	}
	return "amd64"
}

// IsLinuxEnvironment reports whether envType runs Linux builds (containers,
// Lambda or reserved-capacity Linux machines): what the host sandbox can run.
func IsLinuxEnvironment(envType string) bool {
	switch envType {
	case EnvLinuxContainer, EnvArmContainer, EnvLinuxLambdaContainer, EnvArmLambdaContainer, EnvLinuxEC2, EnvArmEC2:
		return true
	}
	return false
}
