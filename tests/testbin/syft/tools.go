//go:build tools

// Package tools pins syft, which writes the release image's SBOM.
package tools

import _ "github.com/anchore/syft/cmd/syft"
