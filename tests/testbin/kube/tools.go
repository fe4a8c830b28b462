//go:build tools

// Package tools names the binaries this wrapper module builds, so that
// `go mod tidy` records every module they need in go.sum.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
