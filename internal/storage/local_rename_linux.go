package storage

import (
	"errors"

	"golang.org/x/sys/unix"
)

// forceLinkFallback makes tests exercise the link(2) path.
var forceLinkFallback = false

// renameNoReplace moves tmp to name unless name exists (EEXIST). It uses
// renameat2(RENAME_NOREPLACE) and falls back to link+unlink on file
// systems that do not support the flag.
func renameNoReplace(tmp, name string) error {
	if !forceLinkFallback {
		err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, name, unix.RENAME_NOREPLACE)
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EOPNOTSUPP) {
			return err
		}
	}
	return linkNoReplace(tmp, name)
}
