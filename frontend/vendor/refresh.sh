#!/usr/bin/env sh
# Refresh the vendored Apache ECharts build from the npm registry.
# Usage: frontend/vendor/refresh.sh [version]   (default: the version in PROVENANCE.md)
# Needs npm and tar; writes only frontend/vendor/echarts.min.js (no node_modules).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
version=${1:-$(sed -n 's/^- Version: *//p' "$here/PROVENANCE.md")}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "echarts@$version" >/dev/null)
tar -xzf "$work/echarts-$version.tgz" -C "$work" package/dist/echarts.min.js package/LICENSE
cp "$work/package/dist/echarts.min.js" "$here/echarts.min.js"
sha256sum "$here/echarts.min.js"
echo "echarts $version -> $here/echarts.min.js; update Version and SHA-256 in PROVENANCE.md"
