package model

import (
	"encoding/json"
	"testing"
)

func TestSizeFor(t *testing.T) {
	for _, c := range []struct {
		env  *ProjectEnvironment
		want Size
	}{
		{&ProjectEnvironment{Type: EnvLinuxContainer, ComputeType: ComputeSmall}, Size{2, 3 * gb, 64, 8192}},
		{&ProjectEnvironment{Type: EnvArmContainer, ComputeType: ComputeSmall}, Size{2, 4 * gb, 64, 8192}},
		{&ProjectEnvironment{Type: EnvLinuxLambdaContainer, ComputeType: ComputeLambda1}, Size{0.6, 1 * gb, 10, 1024}},
		{&ProjectEnvironment{Type: EnvArmLambdaContainer, ComputeType: ComputeLambda10}, Size{6, 10 * gb, 10, 1024}},
		{&ProjectEnvironment{Type: EnvLinuxEC2, ComputeType: ComputeAttributeBased,
			ComputeConfiguration: json.RawMessage(`{"vCpu":4,"memory":16,"disk":100}`)}, Size{4, 16 * gb, 100, 16384}},
		{&ProjectEnvironment{Type: EnvLinuxEC2, ComputeType: ComputeCustomInstance,
			ComputeConfiguration: json.RawMessage(`{"instanceType":"c5.large"}`)}, Size{2, 3 * gb, 64, 8192}},
		{nil, Size{2, 3 * gb, 64, 8192}},
	} {
		if got := SizeFor(c.env); got != c.want {
			t.Errorf("SizeFor(%+v) = %+v, want %+v", c.env, got, c.want)
		}
	}
}

func TestEnvironmentArch(t *testing.T) {
	for env, want := range map[string]string{
		EnvLinuxContainer: "amd64", EnvArmContainer: "arm64", EnvArmLambdaContainer: "arm64",
		EnvLinuxLambdaContainer: "amd64", EnvMacArm: "arm64", EnvArmEC2: "arm64", EnvWindowsEC2: "amd64",
	} {
		if got := EnvironmentArch(env); got != want {
			t.Errorf("EnvironmentArch(%s) = %s, want %s", env, got, want)
		}
	}
	if IsLinuxEnvironment(EnvWindowsEC2) || IsLinuxEnvironment(EnvMacArm) || IsLinuxEnvironment(EnvLinuxGPUContainer) || !IsLinuxEnvironment(EnvArmEC2) {
		t.Error("IsLinuxEnvironment")
	}
}

func TestFleetCountsMessage(t *testing.T) {
	msg := FleetCountsMessage(3, 4, 17)
	if msg != "running 3/4, queued 17" {
		t.Fatalf("message %q", msg)
	}
	if r, n, q, ok := ParseFleetCounts(msg); !ok || r != 3 || n != 4 || q != 17 {
		t.Errorf("ParseFleetCounts = %d %d %d %v", r, n, q, ok)
	}
	for _, other := range []string{"", "ARM_CONTAINER machines are arm64", "running 3/4, queued 17 and more", "running 3/4"} {
		if _, _, _, ok := ParseFleetCounts(other); ok {
			t.Errorf("ParseFleetCounts(%q) ok", other)
		}
	}
}
