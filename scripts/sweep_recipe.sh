#!/usr/bin/env bash
# Runs the seed protocol for seeds 1-3 under each recipe variant given as one argument
# string of train options, and prints each variant's mean validation accuracy and loss of
# the kept checkpoints. Validation data only: test.csv's held-out 20% under the seed
# protocol is the validation split; nothing here reads a test score.
# Usage: scripts/sweep_recipe.sh BUILD_DIR "--word-dropout 0.1" "--dropout 0.5" ...
set -euo pipefail
build=$1
shift
program=$build/examples/sentiment/sentiment
data=${DATA:-../shared/data/tweet_sentiment}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for variant in "$@"; do
  results=()
  for seed in 1 2 3; do
    # shellcheck disable=SC2086
    line=$("$program" train --data "$data" --seed "$seed" --threads "${THREADS:-1}" --quiet --out "$out/model.safetensors" $variant | tail -n 1)
    results+=("$line")
  done
  printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
runs = [json.loads(line) for line in sys.stdin]
acc = [r["val_acc"] for r in runs]; loss = [r["val_loss"] for r in runs]; f1 = [r["val_macro_f1"] for r in runs]
print("%-60s val_acc %.4f ± %.4f  val_loss %.4f  macro-F1 %.4f  epochs %s" % (sys.argv[1], statistics.mean(acc),
      statistics.stdev(acc), statistics.mean(loss), statistics.mean(f1), [r["kept_epoch"] for r in runs]), flush=True)
' "${variant:-(tuned as is)}"
done
