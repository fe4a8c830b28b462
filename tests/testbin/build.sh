#!/usr/bin/env bash
# Build the real servers the test sandbox runs: kube-apiserver and kubectl,
# etcd, influxd and helm, promtool for the chart's alerting rules, and crane
# (an OCI registry and its client) for the release the e2e suite installs, each
# from its Go module, pinned by the wrapper
# modules beside this script (their go.mod/go.sum are the single source of
# the versions).
#
# Other versions on request, each from its own wrapper module beside this one
# (influxd-VERSION/, kube-VERSION/; tests/testbin/kube-module.sh writes the
# latter): INFLUXD_VERSIONS="2.7.12 2.10.1" and KUBE_VERSIONS="1.32.9" build
# them, and INFLUXD / KUBE (the one version `make test` runs against) are added
# to those lists. An extra version not asked for is linked if already cached.
# They appear in bin/ as TOOL@VERSION (the defaults too), which
# tests/sandbox/binaries.py picks by the same variables. Helm 3 and Helm 4 are
# both always built; bin/helm is Helm 4, bin/helm@3.x Helm 3 (HELM_VERSION=3).
#
# With --node (`make testbin-node`) also the parts of `make cluster`'s node:
# kubelet, kube-controller-manager, kube-scheduler, kube-proxy (same
# Kubernetes module), CoreDNS, and the pause binary compiled statically from
# Kubernetes' own build/pause/linux/pause.c. Without --node, node parts are
# linked into bin/ only if already cached, so a plain run stays fast and never
# unlinks a node that was built.
#
# Results are cached by version (and a hash of the build arguments) under
# $TESTBIN_CACHE (default ~/.cache/influxdb-replication-operator/testbin/
# <tool>-<version>-<recipe>/). A tool is
# built into a temporary directory and renamed into place only when complete,
# so an interrupted build is never taken for a good one. A second run finds
# every version present and builds nothing. The stable entry point is
# $TESTBIN_DIR, default $TESTBIN_CACHE/bin/, a directory of symlinks swapped in
# atomically.
set -euo pipefail

node=false
case "${1:-}" in
--node) node=true ;;
"") ;;
*) echo "usage: $0 [--node]" >&2; exit 2 ;;
esac
node_tools=" kubelet kube-controller-manager kube-scheduler kube-proxy coredns pause buildx buildkitd syft oras "

here=$(cd "$(dirname "$0")" && pwd)
cache=${TESTBIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/influxdb-replication-operator/testbin}
mkdir -p "$cache"
# One build at a time per cache; a second caller waits, then finds it all cached.
exec 9>"$cache/.lock"
flock 9
# Leftovers of interrupted runs: never used, so just cleared.
rm -rf "$cache"/.building-* "${TESTBIN_DIR:-$cache/bin}.tmp"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
declare -A built  # link name (TOOL or TOOL@VERSION) -> its directory in the cache

# The Go toolchain a wrapper module asks for with a toolchain line (influxd
# 2.10 needs a newer Go than the local one; the module proxy serves it), else
# the local one.
toolchain() {
	local named
	named=$(sed -n 's/^toolchain //p' "$1/go.mod")
	echo "${named:-local}"
}
# The version a wrapper module (a directory relative to this script's, or
# absolute) pins for a module path.
pinned() { (cd "$here" && cd "$1" && GOTOOLCHAIN=$(toolchain .) go list -m -f '{{.Version}}' "$2"); }

# The version a wrapper module's go.mod requires of a module, read without go:
# an extra version not asked for costs no module download or toolchain.
required() {
	local modfile=$1/go.mod
	[[ "$modfile" == /* ]] || modfile=$here/$modfile
	sed -n "s#^[[:space:]]*\(require[[:space:]]\{1,\}\)\{0,1\}$2 \(v[^[:space:]]*\).*#\2#p" "$modfile" | head -1
}

# Is VERSION (with or without its v) in the space-separated LIST?
requested() { [[ " $1 " == *" ${2#v} "* || " $1 " == *" v${2#v} "* ]]; }
INFLUXD_VERSIONS="${INFLUXD_VERSIONS:-} ${INFLUXD:-}"
KUBE_VERSIONS="${KUBE_VERSIONS:-} ${KUBE:-}"

# produce TOOL VERSION RECIPE COMMAND...
# Makes $cache/TOOL-VERSION-RECIPE/TOOL unless it is already there, by running
# COMMAND with $out naming the file to write. A node tool is skipped unless
# cached or --node was given; with want=false (an extra version not asked for)
# any tool is skipped unless cached. It is linked as $link, default TOOL.
produce() {
	local tool=$1 version=$2 recipe=$3 name=${link:-$1}
	shift 3
	local final="$cache/$tool-$version-$recipe"
	built[$name]=$final
	if [[ -x "$final/$tool" ]]; then
		echo "testbin: $tool $version cached"
		return
	fi
	if [[ "${want:-true}" == false ]] || { ! $node && [[ "$node_tools" == *" $tool "* ]]; }; then
		unset "built[$name]"
		return
	fi
	local tmp start=$SECONDS
	tmp=$(mktemp -d "$cache/.building-$tool-XXXXXX")
	chmod 755 "$tmp"
	echo "testbin: building $tool $version ..."
	out="$tmp/$tool" "$@"
	rm -rf "$final"
	mv -T "$tmp" "$final"
	echo "testbin: built $tool $version in $((SECONDS - start))s"
}

# build TOOL VERSION MODULE_DIR -- go build args...
# RECIPE hashes the build arguments (and $recipe_extra), so changed flags or
# tags mean a new build.
build() {
	local tool=$1 version=$2 dir=$3
	shift 4
	local recipe
	recipe=$({ printf '%s\n' "$@" && if [[ -n "${recipe_extra:-}" ]]; then echo "$recipe_extra"; fi; } | sha256sum | cut -c1-8)
	produce "$tool" "$version" "$recipe" go_build "$dir" "$@"
}
# DIR is a wrapper module's directory, relative to this script's or absolute.
go_build() {
	local dir=$1
	shift
	# shellcheck disable=SC2154 # out: set by produce for the recipe it runs
	(cd "$here" && cd "$dir" && GOTOOLCHAIN=$(toolchain .) go build -o "$out" "$@")
}

# kube_tools MODULE_DIR [WANTED]: kube-apiserver and kubectl from that wrapper
# module, and (see --node) the node's kubelet, kube-controller-manager,
# kube-scheduler and kube-proxy, each linked as TOOL@VERSION and, for the
# default module (kube/), as TOOL.
kube_tools() {
	local dir=$1 wanted=${2:-true} version ldflags tool
	version=$(required "$dir" k8s.io/kubernetes)
	ldflags="-X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean"
	for tool in kube-apiserver kubectl kubelet kube-controller-manager kube-scheduler kube-proxy; do
		link=$tool@${version#v} want=$wanted build "$tool" "$version" "$dir" -- -ldflags "$ldflags" "k8s.io/kubernetes/cmd/$tool"
		if [[ "$dir" == kube && -n "${built[$tool@${version#v}]:-}" ]]; then built[$tool]=${built[$tool@${version#v}]}; fi
	done
}
k8s=$(pinned kube k8s.io/kubernetes)
kube_tools kube
for dir in "$here"/kube-*/; do
	dir=$(basename "$dir")
	version=${dir#kube-}
	if requested "$KUBE_VERSIONS" "$version"; then kube_tools "$dir"; else kube_tools "$dir" false; fi
done
for version in $KUBE_VERSIONS; do
	[[ -d "$here/kube-${version#v}" ]] || [[ "${version#v}" == "${k8s#v}" ]] || {
		echo "testbin: no wrapper module for Kubernetes $version: make it with bash tests/testbin/kube-module.sh $version" >&2
		exit 1
	}
done

etcd=$(pinned etcd go.etcd.io/etcd/server/v3)
build etcd "$etcd" etcd -- go.etcd.io/etcd/server/v3

# helm's default Kubernetes version (for `helm template` and lint) comes from
# ldflags too, derived like helm's own Makefile does from client-go's version.
# Helm 3 (helm/) as helm@3.x; Helm 4 (helm4/), which reads that version from its
# build info itself, as helm@4.x and as helm, the one the README's commands use.
helm=$(pinned helm helm.sh/helm/v3)
client_go=$(pinned helm k8s.io/client-go)
helm_k8s_minor=$(echo "$client_go" | cut -d. -f2)
helm_ldflags="-X helm.sh/helm/v3/internal/version.version=$helm"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
	helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$helm_k8s_minor"
done
link=helm@${helm#v} build helm "$helm" helm -- -ldflags "$helm_ldflags" helm.sh/helm/v3/cmd/helm
helm4=$(pinned helm4 helm.sh/helm/v4)
link=helm@${helm4#v} build helm "$helm4" helm4 -- \
	-ldflags "-X helm.sh/helm/v4/internal/version.version=$helm4 -X helm.sh/helm/v4/internal/version.metadata=" \
	helm.sh/helm/v4/cmd/helm
built[helm]=${built[helm@${helm4#v}]}

# promtool checks and unit-tests the chart's PrometheusRule. Flags as in
# Prometheus' own .promu.yml: the netgo tag (builtinassets only matters for
# the web UI, which promtool does not link) and the version in ldflags, so
# `promtool --version` names the release (module v0.3XX.Y is release 3.XX.Y).
promtool=$(pinned promtool github.com/prometheus/prometheus)
promtool_release=$(echo "$promtool" | sed -E 's/^v0\.([0-9]+)([0-9]{2})\.([0-9]+)$/\1.\2.\3/; s/^([0-9]+)\.0([0-9])\./\1.\2./')
# PROMTOOL=debian (`.ci/run`) takes promtool from the distribution's prometheus
# package instead (Debian bookworm: 2.42), unpacked, never installed: the chart's
# rule checks and unit tests pass with it too, and it saves the 8.5 minutes the
# cold build costs on two cores. Cached by the package's version like a build.
if [[ "${PROMTOOL:-}" == debian ]]; then
	deb_version=$(apt-cache policy prometheus 2>/dev/null | sed -n 's/^ *Candidate: //p')
	[[ -n "$deb_version" && "$deb_version" != "(none)" ]] || {
		echo "testbin: PROMTOOL=debian, but apt knows no prometheus package (apt-get update first)" >&2
		exit 1
	}
	unpack_promtool() {
		local work
		work=$(mktemp -d)
		chmod a+rwx "$work" # apt fetches as its own user (_apt)
		(cd "$work" && apt-get download -qq "prometheus=$deb_version" && dpkg-deb -x ./prometheus_*.deb root)
		install -m 755 "$work/root/usr/bin/promtool" "$out"
		rm -rf "$work"
	}
	produce promtool "debian-${deb_version//[^A-Za-z0-9.]/_}" deb unpack_promtool
else
	build promtool "$promtool" promtool -- -tags netgo \
		-ldflags "-X github.com/prometheus/common/version.Version=$promtool_release -X github.com/prometheus/common/version.Branch=HEAD -X github.com/prometheus/common/version.BuildDate=19700101-00:00:00" \
		github.com/prometheus/prometheus/cmd/promtool
fi

# actionlint checks .github/workflows in `make lint`. Built from a wrapper
# module, its build info names no version, so ldflags set it as its release
# builds do (`actionlint --version` then names the tag).
actionlint=$(pinned actionlint github.com/rhysd/actionlint)
build actionlint "$actionlint" actionlint -- \
	-ldflags "-X github.com/rhysd/actionlint.version=${actionlint#v} -X github.com/rhysd/actionlint.installedFrom=tests/testbin/build.sh" \
	github.com/rhysd/actionlint/cmd/actionlint

# influxd links libflux (Rust) through cgo; the pkg-config shim builds it
# with cargo. flux pins an old toolchain and denies warnings, hence the
# overrides. The shim is cached like any other tool.
command -v pkg-config >/dev/null || { echo "testbin: a system pkg-config must be on PATH for libflux" >&2; exit 1; }
# influxd_build MODULE_DIR [WANTED]: influxd from that wrapper module, linked as
# influxd@VERSION and, for the default module (influxd/), as influxd. A
# module's `standins` file names modules a proxy may refuse and the release to
# use instead: tried first, replaced only when refused, and said loudly (the
# recipe then differs, so a stand-in build is never taken for the real one).
influxd_build() {
	local dir=$1 wanted=${2:-true} version shim commit real standin replaced=""
	version=$(required "$dir" github.com/influxdata/influxdb/v2)
	# Not asked for and never built: nothing to link, and nothing to download.
	[[ "$wanted" == true ]] || compgen -G "$cache/influxd-$version-*" >/dev/null || return 0
	if [[ -f "$here/$dir/standins" ]]; then
		while read -r real standin; do
			[[ -z "$real" || "$real" == "#"* ]] && continue
			(cd "$here/$dir" && GOTOOLCHAIN=$(toolchain .) go mod download "$real" >/dev/null 2>&1) && continue
			replaced+=" -replace=$real=$standin"
			# Said when this influxd is asked for; a cached one only relinked is not being used.
			[[ "$wanted" == true ]] || continue
			echo "testbin: STAND-IN: $real cannot be downloaded here; influxd ${version#v} is built with $standin instead," \
				"so it is NOT the released influxd ${version#v} (where the proxy serves $real, the real one is used)" >&2
		done <"$here/$dir/standins"
	fi
	if [[ -n "$replaced" ]]; then
		local copy
		copy=$(mktemp -d "$cache/.building-standin-XXXXXX")
		cp "$here/$dir"/go.mod "$here/$dir"/go.sum "$here/$dir"/tools.go "$copy/"
		# shellcheck disable=SC2086 # the -replace flags are words
		(cd "$copy" && GOTOOLCHAIN=$(toolchain .) go mod edit $replaced)
		dir=$copy
	fi
	shim=$(required "$dir" github.com/influxdata/pkg-config)
	# A stand-in build's cache directory says so: influxd-v2.10.1-standin-<recipe>.
	local label=${replaced:+-standin}
	recipe_extra=$replaced link=pkg-config@${version#v} want=$wanted build pkg-config "$shim$label" "$dir" -- github.com/influxdata/pkg-config
	commit=$(cd "$here" && cd "$dir" && GOTOOLCHAIN=$(toolchain .) go mod download -json "github.com/influxdata/influxdb/v2@$version" |
		sed -n 's/.*"Hash": "\([0-9a-f]*\)".*/\1/p')
	# (An influxd not asked for is linked if cached, whether or not its shim still is.)
	PKG_CONFIG="${built[pkg-config@${version#v}]:-/nonexistent}/pkg-config" RUSTUP_TOOLCHAIN=stable \
		RUSTC_WRAPPER="$here/rustc-cap-lints" recipe_extra=$replaced link=influxd@${version#v} want=$wanted \
		build influxd "$version$label" "$dir" -- -tags sqlite_foreign_keys,sqlite_json \
		-ldflags "-X main.version=${version#v} -X main.commit=${commit:-unknown} -X main.date=1970-01-01T00:00:00Z" \
		github.com/influxdata/influxdb/v2/cmd/influxd
	unset "built[pkg-config@${version#v}]"
	if [[ "$dir" == influxd && -n "${built[influxd@${version#v}]:-}" ]]; then built[influxd]=${built[influxd@${version#v}]}; fi
}
influx=$(pinned influxd github.com/influxdata/influxdb/v2)
influxd_build influxd
for dir in "$here"/influxd-*/; do
	dir=$(basename "$dir")
	if requested "$INFLUXD_VERSIONS" "${dir#influxd-}"; then influxd_build "$dir"; else influxd_build "$dir" false; fi
done
for version in $INFLUXD_VERSIONS; do
	[[ -d "$here/influxd-${version#v}" ]] || [[ "${version#v}" == "${influx#v}" ]] || {
		echo "testbin: no wrapper module for influxd $version: make tests/testbin/influxd-$version/ (README: Supported versions)" >&2
		exit 1
	}
done

# The prometheus-operator's CRDs of the kinds the chart can create
# (ServiceMonitor, PrometheusRule), for the chart test's server-side dry run:
# copied from the pinned module (go.sum checks its hash), bin/prometheus-operator-crds/.
prom_op=$(pinned prometheus-operator github.com/prometheus-operator/prometheus-operator)
prom_op_kinds="servicemonitors prometheusrules"
copy_prom_op_crds() {
	local dir kind
	dir=$(cd "$here/prometheus-operator" && go mod download -json "github.com/prometheus-operator/prometheus-operator@$prom_op" |
		sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
	mkdir "$out"
	for kind in $prom_op_kinds; do
		install -m 644 "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$out/"
	done
}
produce prometheus-operator-crds "$prom_op" "$(echo "$prom_op_kinds" | sha256sum | cut -c1-8)" copy_prom_op_crds

# The OCI registry the end-to-end suite releases into and the node pulls
# from, and crane to push to it and read it back: both from
# go-containerregistry. The registry runs as `crane registry serve`, the same
# server as its cmd/registry but with --address (kind reaches it on a
# non-loopback address) and --disk (blobs on disk, not in memory).
ggcr=$(pinned containerregistry github.com/google/go-containerregistry)
CGO_ENABLED=0 build crane "$ggcr" containerregistry -- \
	-ldflags "-X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$ggcr" \
	github.com/google/go-containerregistry/cmd/crane

# The node of `make cluster` (see --node above).
# (kubelet, kube-controller-manager, kube-scheduler, kube-proxy: kube_tools above.)
# CoreDNS runs in a pod from an image holding nothing but its binary: static.
coredns=$(pinned coredns github.com/coredns/coredns)
CGO_ENABLED=0 build coredns "$coredns" coredns -- -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$coredns" \
	github.com/coredns/coredns
# The pod sandbox's pause binary, built the way build/pause/Makefile does
# (static, so its image needs nothing else); TAG there is the image's version.
k8s_dir=$(cd "$here/kube" && go mod download -json "k8s.io/kubernetes@$k8s" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
pause_tag=$(sed -n 's/^TAG ?= //p' "$k8s_dir/build/pause/Makefile")
pause_cflags="-Os -Wall -Werror -static -DVERSION=v$pause_tag"
pause_recipe=$( (echo "$pause_cflags" && cat "$k8s_dir/build/pause/linux/pause.c") | sha256sum | cut -c1-8)
compile_pause() {
	command -v cc >/dev/null || { echo "testbin: a C compiler (cc) is needed for pause" >&2; return 1; }
	# shellcheck disable=SC2086 # the flags are words
	cc $pause_cflags -o "$out" "$k8s_dir/build/pause/linux/pause.c"
}
produce pause "$pause_tag" "$pause_recipe" compile_pause

# What `make release` builds and pushes with, used by the end-to-end suite
# (built with --node, like the node's parts): buildx and the buildkitd it
# drives where no Docker builder can make a multi-platform image, syft for the
# SBOM and oras to attach it. Versions in the wrapper modules, as above.
buildkit=$(pinned buildkit github.com/moby/buildkit)
buildx=$(pinned buildkit github.com/docker/buildx)
build buildx "$buildx" buildkit -- -ldflags "-X github.com/docker/buildx/version.Version=$buildx" \
	github.com/docker/buildx/cmd/buildx
build buildkitd "$buildkit" buildkit -- -ldflags "-X github.com/moby/buildkit/version.Version=$buildkit" \
	github.com/moby/buildkit/cmd/buildkitd
syft=$(pinned syft github.com/anchore/syft)
build syft "$syft" syft -- -ldflags "-X main.version=${syft#v}" github.com/anchore/syft/cmd/syft
oras=$(pinned oras oras.land/oras)
build oras "$oras" oras -- oras.land/oras/cmd/oras

# The health checkers the operator's objects are judged by in the tests:
# argocd-health (gopher-lua, the interpreter Argo CD embeds) and kstatus
# (sigs.k8s.io/cli-utils, as Flux judges readiness), small programs of the
# wrapper module itself: their sources are part of the recipe.
health_recipe=$(cat "$here"/health/go.sum "$here"/health/*/main.go | sha256sum | cut -c1-8)
lua=$(pinned health github.com/yuin/gopher-lua)
produce argocd-health "$lua" "$health_recipe" go_build health ./argocd-health
kstatus=$(pinned health sigs.k8s.io/cli-utils)
produce kstatus "$kstatus" "$health_recipe" go_build health ./kstatus

# Point bin/ ($TESTBIN_DIR if set) at exactly these versions: a symlink to a
# fresh directory of links, replaced by one rename so readers never see a
# half-made bin/. Inside the cache the links are relative (the cache can move);
# a TESTBIN_DIR elsewhere (a private bin/ that leaves the shared one alone) gets
# absolute links, its link directories ($TESTBIN_DIR.links-*) made beside it.
bindir=${TESTBIN_DIR:-$cache/bin}
if [[ "$bindir" == "$cache/bin" ]]; then
	links=$(mktemp -d "$cache/.bin-XXXXXX")
	target() { echo "../$(basename "$1")/$2"; }
else
	[[ -L "$bindir" || ! -e "$bindir" ]] || {
		echo "testbin: TESTBIN_DIR=$bindir exists and is not a link this script made; remove it or choose another" >&2
		exit 1
	}
	mkdir -p "$(dirname "$bindir")"
	links=$(mktemp -d "$bindir.links-XXXXXX")
	target() { echo "$1/$2"; }
fi
chmod 755 "$links"
for name in "${!built[@]}"; do
	ln -s "$(target "${built[$name]}" "${name%@*}")" "$links/$name"
done
[[ -L "$bindir" || ! -e "$bindir" ]] || rm -rf "$bindir"
ln -sfn "$links" "$bindir.tmp"
mv -T "$bindir.tmp" "$bindir"
for old in "${links%-*}"-*; do
	[[ "$old" == "$links" || ! -d "$old" ]] || rm -rf "$old"
done
echo "testbin: ready in $bindir"
