#!/usr/bin/env bash
# Installs what the end-to-end suite needs to run the real VS Code workbench
# without internet: Debian's chromium and ripgrep, and code-server (VS Code
# server) from the npm registry, with its native modules built from source.
#
# code-server lands in a machine-wide cache that every clone can reuse:
#   ${METACOMPLETE_CODE_SERVER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/metacomplete/code-server-<version>}
# A marker file records a finished install, so a second run does nothing.
# The last line printed is the code-server package folder (holds out/node/entry.js).
set -euo pipefail

readonly CODE_SERVER_VERSION=4.100.3
readonly CACHE_DIR="${METACOMPLETE_CODE_SERVER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/metacomplete/code-server-$CODE_SERVER_VERSION}"
readonly PACKAGE_DIR="$CACHE_DIR/node_modules/code-server"
readonly VSCODE_DIR="$PACKAGE_DIR/lib/vscode"
readonly MARKER="$CACHE_DIR/.install-complete"

log() { printf '[code-server install %4ss] %s\n' "$SECONDS" "$*" >&2; }
fail() { log "error: $*"; exit 1; }

# The marker names the Node major version: native modules built for one ABI
# must be rebuilt when Node changes.
node_major="$(node -p 'process.versions.node.split(".")[0]')"
readonly EXPECTED_MARKER="code-server $CODE_SERVER_VERSION node $node_major"
[ "$node_major" = 20 ] || fail "code-server $CODE_SERVER_VERSION needs Node 20, found $(node --version); install Node 20 and run again."

# --- Debian packages ---------------------------------------------------------

apt_missing=()
need_deb() { # need_deb <package> : queue the package unless dpkg has it installed
  if ! dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; then
    apt_missing+=("$1")
  fi
}
need_deb chromium          # the browser playwright-core drives
need_deb ripgrep           # VS Code's search; its npm package downloads rg from the web
need_deb libkrb5-dev       # headers for the kerberos native module
command -v python3 >/dev/null 2>&1 || need_deb python3   # node-gyp
command -v make >/dev/null 2>&1 || need_deb make
command -v g++ >/dev/null 2>&1 || need_deb g++
[ -n "$(fc-list 2>/dev/null | head -n 1)" ] || need_deb fonts-dejavu-core  # readable screenshots

if [ "${#apt_missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing Debian packages (${apt_missing[*]}); run this script as root or install them with apt-get."
  log "installing Debian packages: ${apt_missing[*]}"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${apt_missing[@]}" >&2
fi

# --- code-server into the cache ----------------------------------------------

mkdir -p "$CACHE_DIR"
# One install at a time per cache folder; a second caller waits, then sees the marker.
exec 9>"$CACHE_DIR.lock"
flock 9

if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$EXPECTED_MARKER" ] && [ -f "$PACKAGE_DIR/out/node/entry.js" ]; then
  log "already installed"
  printf '%s\n' "$PACKAGE_DIR"
  exit 0
fi

started=$SECONDS
log "installing code-server $CODE_SERVER_VERSION into $CACHE_DIR"
# A half-finished install is not worth repairing: start clean, but only in a
# folder this script made (the owner file), never in one it was merely pointed at.
readonly OWNER_FILE="$CACHE_DIR/.metacomplete-code-server"
if [ -n "$(ls -A "$CACHE_DIR")" ] && [ ! -f "$OWNER_FILE" ]; then
  fail "$CACHE_DIR is not empty and was not made by this script; empty it or point METACOMPLETE_CODE_SERVER_DIR elsewhere."
fi
find "$CACHE_DIR" -mindepth 1 -delete
touch "$OWNER_FILE"

# --ignore-scripts everywhere: the packages' own install scripts download
# prebuilt binaries (ripgrep, kerberos, argon2) from outside the npm registry.
npm_quiet=(--ignore-scripts --no-audit --no-fund --loglevel=error)

log "npm install code-server@$CODE_SERVER_VERSION"
npm install --prefix "$CACHE_DIR" "${npm_quiet[@]}" "code-server@$CODE_SERVER_VERSION" >&2

log "npm install in lib/vscode"
(cd "$VSCODE_DIR" && npm install --omit=dev "${npm_quiet[@]}" >&2)

log "npm install in lib/vscode/extensions"
(cd "$VSCODE_DIR/extensions" && npm install --omit=dev "${npm_quiet[@]}" >&2)
# The extensions' postinstall only trims the bundled TypeScript; it is plain node.
(cd "$VSCODE_DIR/extensions" && node ./postinstall.mjs >/dev/null)

# Native modules: built with npm's own node-gyp against the local Node headers
# (node-gyp would otherwise download headers from the web).
node_gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
if [ ! -f "$node_gyp" ]; then
  log "npm's bundled node-gyp not found; installing node-gyp into the cache"
  npm install --prefix "$CACHE_DIR/tools" "${npm_quiet[@]}" node-gyp@11 >&2
  node_gyp="$CACHE_DIR/tools/node_modules/node-gyp/bin/node-gyp.js"
fi
node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -f "$node_prefix/include/node/node.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi
export npm_config_node_gyp="$node_gyp"
export JOBS="$(nproc)"

build_native() { # build_native <module folder>
  log "building $(basename "$(dirname "$1")")/$(basename "$1")"
  (cd "$1" && node "$node_gyp" rebuild --release >"$CACHE_DIR/build-$(basename "$1").log" 2>&1) \
    || { tail -n 40 "$CACHE_DIR/build-$(basename "$1").log" >&2; fail "building $1 failed (log above)."; }
}
build_native "$VSCODE_DIR/node_modules/kerberos"
build_native "$VSCODE_DIR/node_modules/node-pty"
build_native "$VSCODE_DIR/node_modules/@vscode/spdlog"
build_native "$VSCODE_DIR/node_modules/native-watchdog"
# @parcel/watcher loads its prebuild from the npm registry (@parcel/watcher-linux-x64-glibc)
# when there is one for this platform; build it (40 s) only where there is not.
if (cd "$VSCODE_DIR" && node --input-type=module -e "import { createRequire } from 'node:module'; createRequire(process.cwd() + '/')('@parcel/watcher');") 2>/dev/null; then
  log "@parcel/watcher: its npm prebuild loads, no build needed"
else
  build_native "$VSCODE_DIR/node_modules/@parcel/watcher"
fi
# argon2 loads its binary from node-pre-gyp's versioned folder, so node-pre-gyp drives the build.
log "building argon2"
(cd "$CACHE_DIR/node_modules/argon2" && node ../@mapbox/node-pre-gyp/bin/node-pre-gyp rebuild >"$CACHE_DIR/build-argon2.log" 2>&1) \
  || { tail -n 40 "$CACHE_DIR/build-argon2.log" >&2; fail "building argon2 failed (log above)."; }

# VS Code's search runs the rg that @vscode/ripgrep would have downloaded.
mkdir -p "$VSCODE_DIR/node_modules/@vscode/ripgrep/bin"
ln -sf "$(command -v rg)" "$VSCODE_DIR/node_modules/@vscode/ripgrep/bin/rg"

# What code-server's postinstall does: extensions and Code itself look for
# files under node_modules.asar, and the remote CLI scripts get their links.
ln -sfn node_modules "$VSCODE_DIR/node_modules.asar"
ln -sfn code-linux.sh "$VSCODE_DIR/bin/remote-cli/code-server"
ln -sfn browser-linux.sh "$VSCODE_DIR/bin/helpers/browser.sh"

log "checking that the native modules load"
(cd "$VSCODE_DIR" && node --input-type=module -e "
  import { createRequire } from 'node:module';
  const require = createRequire(process.cwd() + '/');
  for (const name of ['kerberos', 'node-pty', '@vscode/spdlog', 'native-watchdog', '@parcel/watcher']) require(name);
") >&2
(cd "$PACKAGE_DIR" && node -e "require('argon2')") >&2
"$VSCODE_DIR/node_modules/@vscode/ripgrep/bin/rg" --version >/dev/null
# code-server writes a default config and log folders even for --version: keep them out of the home.
selftest_home="$CACHE_DIR/.selftest"
CODE_SERVER_CONFIG="$selftest_home/config.yaml" XDG_CONFIG_HOME="$selftest_home" XDG_DATA_HOME="$selftest_home" \
  node "$PACKAGE_DIR/out/node/entry.js" --version >&2
rm -rf "$selftest_home"

printf '%s\n' "$EXPECTED_MARKER" >"$MARKER"
log "done in $((SECONDS - started)) s"
printf '%s\n' "$PACKAGE_DIR"
