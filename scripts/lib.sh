# Shared by scripts/run and scripts/test. Sourced, not executed.
set -euo pipefail

BELLWETHER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian 12 packages the build, the tests and the run command need.
BELLWETHER_APT_PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libsqlite3-dev libgtest-dev libgmock-dev
  libbenchmark-dev libsecret-1-dev
  chromium firefox-esr
  nginx-light openssl faketime curl
  gnome-keyring dbus dbus-x11 libsecret-tools
  procps
)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs whatever of the package list is missing (no-op when all present).
install_system_packages() {
  local missing=()
  for p in "${BELLWETHER_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # Node.js: keep the one the machine has (it may come with its own npm);
  # otherwise Debian's.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
  if [ "${#missing[@]}" -gt 0 ]; then
    say "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# npm packages (playwright-core, eslint, tuf-js) from the lock file.
install_node_packages() {
  cd "$BELLWETHER_ROOT"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "Installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

# Configures and builds one CMake preset with every core; extra arguments go
# to the configure step.
build_preset() {
  local preset="$1"
  shift
  cd "$BELLWETHER_ROOT"
  say "Building ($preset)"
  cmake --preset "$preset" "$@" >/dev/null
  cmake --build --preset "$preset" -j "$(nproc)"
}
