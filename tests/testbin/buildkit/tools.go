//go:build tools

// Package tools pins the image builders of `make release`: buildx (the CLI,
// run standalone) and buildkitd (its builder, run on the host where no Docker
// engine with a multi-platform builder exists).
package tools

import (
	_ "github.com/docker/buildx/cmd/buildx"
	_ "github.com/moby/buildkit/cmd/buildkitd"
)
