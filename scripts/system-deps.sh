#!/usr/bin/env bash
# Install the Debian packages a target needs, only those missing. Usage: scripts/system-deps.sh run|test
set -euo pipefail
run_pkgs="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core libmagic1"
test_pkgs="$run_pkgs chromium clamav clamav-daemon poppler-utils"
case "${1:-run}" in
  run) wanted=$run_pkgs ;;
  test) wanted=$test_pkgs ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac
missing=""
for pkg in $wanted; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -z "$missing" ]; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "Missing system packages:$missing (install them with your package manager)" >&2; exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "Installing system packages:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
