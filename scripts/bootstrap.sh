#!/bin/sh
# What `npm test`, `npm run matrix` and `npm run bench:boot` do first, so each
# works as the first command after a clone: system packages, npm packages,
# then a build of whatever is stale. Each step is a quick no-op when done.
# The argument (matrix or test) says which system packages: see setup-host.sh.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup-host.sh "${1:-test}"
if [ ! -d node_modules ]; then
	npm ci
fi
node scripts/build-if-stale.js
