//go:build tools

// Package tools names the binaries this wrapper module builds, so that
// `go mod tidy` records every module they need in go.sum.
package tools

import (
	_ "github.com/google/go-containerregistry/cmd/crane"
	_ "github.com/google/go-containerregistry/cmd/registry"
)
