//go:build !linux

package versitygw

import "os/exec"

func setDeathSignal(*exec.Cmd) {}

func startProcess(cmd *exec.Cmd) error { return cmd.Start() }

func supportsXattr(string) bool { return true }
