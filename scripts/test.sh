#!/usr/bin/env bash
# Builds strata's tests, examples and benchmarks from a clean build folder and runs every
# test through CTest. Usage: scripts/test.sh [BUILD_DIR]   (default: build/test)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build_dir=${1:-build/test}
jobs=$(nproc 2>/dev/null || echo 2)

rm -rf "$build_dir"
start=$(date +%s)
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTRATA_WARNINGS_AS_ERRORS=ON
cmake --build "$build_dir" --parallel "$jobs"
echo "build from clean: $(( $(date +%s) - start )) s"
ctest --test-dir "$build_dir" --output-on-failure --parallel "$jobs"
