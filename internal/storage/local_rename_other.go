//go:build !linux

package storage

var forceLinkFallback = true

// renameNoReplace moves tmp to name unless name exists, with link+unlink.
func renameNoReplace(tmp, name string) error { return linkNoReplace(tmp, name) }
