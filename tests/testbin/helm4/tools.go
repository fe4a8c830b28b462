//go:build tools

// Package tools names the binary this wrapper module builds, so that
// `go mod tidy` records every module it needs in go.sum.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
