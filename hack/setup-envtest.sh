#!/usr/bin/env bash
# Builds the envtest control-plane binaries (kube-apiserver, etcd, and kube-controller-manager for
# the e2e suite's namespace and garbage-collector controllers) from the Go module proxy, because
# the usual setup-envtest download needs network access this project cannot rely on.
#
# The Kubernetes version follows k8s.io/api in go.mod (v0.X.Y -> v1.X.Y); etcd follows the
# version that Kubernetes release itself requires. Binaries land in bin/k8s/<version>/ and are
# rebuilt only when that version changes. Prints the asset directory on stdout (for
# KUBEBUILDER_ASSETS); progress goes to stderr.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

api_version=$(go list -m -f '{{.Version}}' k8s.io/api)          # v0.37.2
minor_patch=${api_version#v0.}                                   # 37.2
kube_version="v1.${minor_patch}"                                 # v1.37.2
minor=${minor_patch%%.*}
assets="$root/bin/k8s/${kube_version}-$(go env GOOS)-$(go env GOARCH)"

ready() { [[ -x "$assets/kube-apiserver" && -x "$assets/etcd" && -x "$assets/kube-controller-manager" ]]; }
if ready; then
  echo "$assets"
  exit 0
fi
# One build at a time (make test and make test-e2e may start together): wait for another run's
# build instead of racing it into the same directory.
mkdir -p "$root/bin"
exec 9>"$root/bin/.setup-envtest.lock"
flock 9
if ready; then
  echo "$assets"
  exit 0
fi

rm -rf "$assets.partial" && mkdir -p "$assets.partial"
# A setup-envtest that can reach its download site is faster for kube-apiserver and etcd; try it
# only outside CI and only when explicitly asked, so an offline machine never waits on a network
# timeout. It has no kube-controller-manager, which is built below either way.
downloaded=false
if [[ "${ENVTEST_TRY_DOWNLOAD:-}" == "true" ]]; then
  if dir=$(go run sigs.k8s.io/controller-runtime/tools/setup-envtest@release-0.${minor_patch%%.*} \
      use "1.${minor}.x" --bin-dir "$root/bin/k8s-download" -p path 2>/dev/null); then
    cp "$dir/kube-apiserver" "$dir/etcd" "$assets.partial/"
    downloaded=true
  fi
fi

echo ">> building kube-apiserver, kube-controller-manager ${kube_version} and etcd from the Go module proxy (first run only, ~12 min)" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

kube_mod=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@${kube_version}" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
etcd_version=$(sed -n 's#^\s*go.etcd.io/etcd/server/v3 \(v[^ ]*\).*#\1#p' "$kube_mod" | head -1)
[[ -n "$etcd_version" ]] || { echo "cannot find the etcd version Kubernetes ${kube_version} requires" >&2; exit 1; }

{
  echo "module envtestassets"
  echo
  echo "go $(sed -n 's/^go //p' "$kube_mod")"
  echo
  echo "require ("
  echo "	k8s.io/kubernetes ${kube_version}"
  echo "	go.etcd.io/etcd/server/v3 ${etcd_version}"
  echo ")"
  echo
  echo "replace ("
  # Every staging module k8s.io/X => ./staging/... in Kubernetes' go.mod becomes k8s.io/X v0.<minor>.<patch>.
  sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\t\1 => \1 '"${api_version}"'#p' "$kube_mod"
  echo ")"
} > "$work/go.mod"

mkdir -p "$work/etcd"
cat > "$work/etcd/main.go" <<'GO'
// Command etcd is the upstream etcd server entry point.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO

pkg=k8s.io/component-base/version
ldflags="-s -w -X ${pkg}.gitVersion=${kube_version} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
etcd_ldflags="-s -w"

(
  cd "$work"
  export GOFLAGS=-mod=mod CGO_ENABLED=0
  if [[ "$downloaded" != true ]]; then
    go build -trimpath -ldflags "$ldflags" -o "$assets.partial/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
    go build -trimpath -ldflags "$etcd_ldflags" -o "$assets.partial/etcd" ./etcd
  fi
  go build -trimpath -ldflags "$ldflags" -o "$assets.partial/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
)
rm -rf "$assets" && mv "$assets.partial" "$assets"
echo ">> envtest assets ready: $("$assets/kube-apiserver" --version), etcd ${etcd_version}" >&2
echo "$assets"
