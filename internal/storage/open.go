package storage

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// Open returns the FS of a location and the root name inside it, to which
// callers path.Join their own names:
//
//	/data/ckpt, ./ckpt, ckpt      Local, root = the absolute path
//	file:///data/ckpt              Local, root = /data/ckpt
//	mem://name/dir                 NamedMem(name), root = /dir ("/" if none)
//	s3://bucket/prefix?params      S3 (NewS3), root = /prefix ("/" if none);
//	                               params: see ParseS3Location, S3Options
func Open(location string) (FS, string, error) {
	if strings.TrimSpace(location) == "" {
		return nil, "", fmt.Errorf("storage: empty location: give a directory path, file:///path or mem://name")
	}
	scheme, _, found := strings.Cut(location, "://")
	if !found {
		abs, err := filepath.Abs(location)
		if err != nil {
			return nil, "", fmt.Errorf("storage: location %q: %w", location, err)
		}
		return Local{}, abs, nil
	}
	if s := strings.ToLower(scheme); s == "s3" || s == "s3a" {
		return openS3(location) // before url.Parse: its errors would show secrets
	}
	u, err := url.Parse(location)
	if err != nil {
		return nil, "", fmt.Errorf("storage: location %q is not a valid URL: %w", location, err)
	}
	switch strings.ToLower(scheme) {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, "", fmt.Errorf("storage: location %q: file URLs name a local path (file:///path); host %q is not supported", location, u.Host)
		}
		if u.Path == "" {
			return nil, "", fmt.Errorf("storage: location %q has no path; use file:///absolute/path", location)
		}
		return Local{}, filepath.Clean(u.Path), nil
	case "mem":
		if u.Host == "" {
			return nil, "", fmt.Errorf("storage: location %q: name the in-memory file system, as in mem://name/dir", location)
		}
		return NamedMem(u.Host), path.Clean("/" + u.Path), nil
	}
	return nil, "", fmt.Errorf("storage: location %q: unknown scheme %q; use a local path, file:///path, s3://bucket/prefix or mem://name", location, scheme)
}
