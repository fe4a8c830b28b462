//go:build tools

// Package tools pins oras, which attaches the SBOM to the image in the registry.
package tools

import _ "oras.land/oras/cmd/oras"
