#!/bin/sh
# What `npm test`, `npm run matrix` and `npm run bench:boot` do first, so each
# works as the first command after a clone: system packages, npm packages,
# then a build of whatever is stale. Each step is a quick no-op when done.
# The argument (matrix or test) says which system packages: see setup-host.sh.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup-host.sh "${1:-test}"
# npm ci again when package-lock.json changed since the last install (a pull
# that adds a package): npm writes node_modules/.package-lock.json each time.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci
fi
node scripts/build-if-stale.js
