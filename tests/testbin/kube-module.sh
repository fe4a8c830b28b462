#!/usr/bin/env bash
# Write the wrapper module that pins Kubernetes VERSION: into DIR, default
# tests/testbin/kube-VERSION/ (tests/testbin/kube/ is the default version's).
# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them
# with ./staging/src/...; a module that requires it must replace each with the
# published v0.MINOR.PATCH. The list is read from that release's own go.mod, so
# a staging module added in a new release (k8s.io/streaming in 1.37) is never
# missed.
set -euo pipefail
version=${1:?usage: $0 VERSION [DIR]}
version=${version#v}
here=$(cd "$(dirname "$0")" && pwd)
dir=${2:-$here/kube-$version}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
mkdir -p "$dir"
[[ "$(cd "$dir" && pwd)" == "$here/kube" ]] || cp "$here/kube/tools.go" "$dir/"
cd "$dir"
rm -f go.mod go.sum
{
	echo "// Wrapper module that pins the Kubernetes binaries (written by tests/testbin/kube-module.sh $version):"
	echo "// kube-apiserver and kubectl for the test sandbox, and the node parts (kubelet,"
	echo "// kube-controller-manager, kube-scheduler, kube-proxy) for \`make cluster\`."
	echo "module testbin/kube"
} >go.mod
modfile=$(go mod download -json "k8s.io/kubernetes@v$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p') ||
	{ go mod download "k8s.io/kubernetes@v$version"; exit 1; }
staging=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$modfile")
[[ -n "$staging" ]] || { echo "kube-module: no staging replaces in $modfile" >&2; exit 1; }
# The go directive Kubernetes itself declares, not this machine's Go version.
go mod edit -go="$(sed -n 's/^go //p' "$modfile")"
for module in $staging; do
	go mod edit -replace "$module=$module@v0.${version#1.}"
done
go get "k8s.io/kubernetes@v$version"
go mod tidy
echo "kube-module: $dir pins k8s.io/kubernetes v$version ($(echo "$staging" | wc -l) staging modules)"
