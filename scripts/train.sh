#!/usr/bin/env bash
# The main job: builds the example programs and trains the example model.
# Usage: scripts/train.sh [ARGS...]   (passed to the program; --help lists them)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build_dir=build/release
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTRATA_BUILD_TESTS=OFF -DSTRATA_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build_dir" --parallel "$(nproc 2>/dev/null || echo 2)" --target mlp_example
exec "$build_dir/examples/mlp/mlp_example" "$@"
