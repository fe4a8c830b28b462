//go:build tools

// Package tools names the binaries this wrapper module builds, so that
// `go mod tidy` records every module they need in go.sum.
package tools

import (
	_ "github.com/influxdata/influxdb/v2/cmd/influxd"
	_ "github.com/influxdata/pkg-config"
)
