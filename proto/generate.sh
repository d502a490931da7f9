#!/usr/bin/env bash
# Regenerates proto/gen from the .proto files. The output is committed; CI runs
# `npm run proto:check` and fails when regenerating changes it.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf gen
../node_modules/.bin/buf generate
