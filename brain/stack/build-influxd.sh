#!/usr/bin/env bash
# Build influxd (InfluxDB OSS 1.x with Flux) from its Go module into a version-keyed cache.
# Why a build: Debian's influxdb 1.6 has no /api/v2 endpoints, and no registry here ships the binary.
# Usage: stack/build-influxd.sh [VERSION]   (env BRAIN_CACHE overrides ~/.cache/industrial-brain)
set -euo pipefail
version="${1:-${INFLUXDB_VERSION:-1.12.4}}"
cache="${BRAIN_CACHE:-$HOME/.cache/industrial-brain}"
dest="$cache/influxdb-$version"
bin="$dest/bin/influxd"
log="$dest/build.log"
if [ -x "$bin" ]; then
  echo "influxd $version: cached at $bin"
  exit 0
fi
command -v go >/dev/null || { echo "error: Go is required to build influxd (apt-get install golang or https://go.dev/dl)" >&2; exit 1; }
command -v cargo >/dev/null || { echo "error: Rust (cargo) is required to build libflux for influxd (rustup)" >&2; exit 1; }
mkdir -p "$dest/bin"
start=$(date +%s)
echo "influxd $version: building from its Go module (cold build: 10-25 min on 2 cores); log: $log"
{
  set -x
  modfile=$(go mod download -json "github.com/influxdata/influxdb@v$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  pkgcfg_version=$(awk '$1=="github.com/influxdata/pkg-config"{print $2}' "$modfile")
  GOBIN="$dest/bin" go install "github.com/influxdata/pkg-config@$pkgcfg_version"
  # flux pins an old toolchain rustup cannot fetch, and flux-core denies warnings that newer rustc
  # emits. RUSTFLAGS does not reach host artifacts when cargo gets --target (flux's build script
  # compiles flux-core for the host), so a rustc wrapper caps lints on every invocation instead.
  cat >"$dest/bin/rustc-cap-lints" <<'WRAP'
#!/bin/sh
case " $* " in *" --cap-lints"*) exec "$@" ;; esac
exec "$@" --cap-lints=warn
WRAP
  chmod +x "$dest/bin/rustc-cap-lints"
  PKG_CONFIG="$dest/bin/pkg-config" CGO_ENABLED=1 RUSTUP_TOOLCHAIN=stable RUSTC_WRAPPER="$dest/bin/rustc-cap-lints" \
    GOBIN="$dest/bin" go install "github.com/influxdata/influxdb/cmd/influxd@v$version"
} >"$log" 2>&1 || {
  echo "error: influxd build failed; see the full log at $log" >&2
  tail -n 20 "$log" >&2
  exit 1
}
echo "influxd $version: built in $(( $(date +%s) - start )) s -> $bin"
