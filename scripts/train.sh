#!/usr/bin/env bash
# The main job: builds the sentiment program and trains the classifier on the tweets in
# ../shared/data/tweet_sentiment (seed protocol, tuned recipe), writing
# models/sentiment.safetensors. Arguments go to "sentiment train" (e.g. --protocol full
# --seed 2 --recipe spec); --data and --out default as above. See "sentiment train --help".
# The program is built for this machine's processor (-DSTRATA_NATIVE=ON: AVX2/AVX-512 for
# every loop; the portable x86-64 default picks AVX2 at run time for its GEMMs only), since
# it runs where it is built; STRATA_NATIVE=OFF scripts/train.sh builds the portable program.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
native=${STRATA_NATIVE:-ON}
if [[ $native == ON ]]; then build_dir=build/release-native; else build_dir=build/release; fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTRATA_NATIVE="$native" \
  -DSTRATA_BUILD_TESTS=OFF -DSTRATA_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build_dir" --parallel "$(nproc 2>/dev/null || echo 2)" --target sentiment
mkdir -p models
[[ " $* " == *" --data "* || " $* " == *" --data="* ]] || set -- "$@" --data ../shared/data/tweet_sentiment
[[ " $* " == *" --out "* || " $* " == *" --out="* ]] || set -- "$@" --out models/sentiment.safetensors
exec "$build_dir/examples/sentiment/sentiment" train "$@"
