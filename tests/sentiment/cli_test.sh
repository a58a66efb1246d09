#!/usr/bin/env bash
# The sentiment program end to end: a smoke training run on a few hundred real tweets whose
# loss must fall, eval and predict on its checkpoint, and every bad-input case with its exit
# status, its one-line message, and no file left at --out.
# Usage: cli_test.sh PATH_TO_sentiment SHARED_DIR
set -uo pipefail

program=$1
shared=$2
data=$shared/data/tweet_sentiment
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passed=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { passed=$((passed + 1)); }

# expect_error NAME STATUS REGEX COMMAND...: the command exits with STATUS, prints one line
# on stderr matching REGEX, and leaves no $work/out.safetensors behind.
expect_error() {
  local name=$1 status=$2 regex=$3
  shift 3
  rm -f "$work/out.safetensors"
  "$@" >"$work/stdout" 2>"$work/stderr" </dev/null
  local actual=$?
  local lines
  lines=$(wc -l <"$work/stderr")
  if [[ $actual -ne $status ]]; then
    fail "$name: exit status $actual, expected $status (stderr: $(head -c 300 "$work/stderr"))"
  elif [[ $lines -ne 1 ]]; then
    fail "$name: $lines lines on stderr, expected one: $(head -c 300 "$work/stderr")"
  elif ! grep -Eq -- "$regex" "$work/stderr"; then
    fail "$name: stderr '$(cat "$work/stderr")' does not match '$regex'"
  elif [[ -e "$work/out.safetensors" ]] || compgen -G "$work/out.safetensors.tmp*" >/dev/null; then
    fail "$name: a file was left at --out"
  else
    pass
  fi
}

# ---- a small data folder: 400 training and 200 test tweets ------------------------------
mkdir -p "$work/small"
head -n 401 "$data/train.csv" >"$work/small/train.csv"
head -n 301 "$data/test.csv" >"$work/small/test.csv"

# ---- smoke training run: the training loss falls epoch after epoch -----------------------
"$program" train --data "$work/small" --protocol full --recipe spec --epochs 3 --seed 3 --threads 1 \
  --out "$work/model.safetensors" >"$work/train.log" 2>&1
status=$?
if [[ $status -ne 0 ]]; then
  fail "smoke training exited with $status: $(tail -3 "$work/train.log")"
else
  mapfile -t losses < <(sed -n 's/^epoch [0-9]*\/[0-9]*  train loss \([0-9.]*\).*/\1/p' "$work/train.log")
  if [[ ${#losses[@]} -ne 3 ]]; then
    fail "smoke training printed ${#losses[@]} epoch lines, expected 3"
  elif ! awk -v a="${losses[0]}" -v b="${losses[1]}" -v c="${losses[2]}" 'BEGIN { exit !(b < a && c < b) }'; then
    fail "training loss did not fall: ${losses[*]}"
  else
    pass
  fi
  last=$(tail -n 1 "$work/train.log")
  for key in val_acc val_loss val_macro_f1 test_acc test_macro_f1; do
    [[ $last == *"\"$key\":"* ]] && pass || fail "the last line lacks $key: $last"
  done
  grep -q "^confusion" "$work/train.log" && pass || fail "no confusion matrix in the training output"
  [[ -s "$work/model.safetensors" ]] && pass || fail "no checkpoint written"
fi

# ---- eval and predict on the checkpoint ---------------------------------------------------
out=$("$program" eval --model "$work/model.safetensors" --data "$work/small/test.csv" --json 2>&1)
[[ $? -eq 0 && $out == *'"accuracy":'* && $out == *'"macro_f1":'* && $out == *'"confusion":'* ]] && pass || fail "eval --json: $out"

out=$("$program" predict --model "$work/model.safetensors" --json "I love this" "worst day ever" 2>&1)
count=$(grep -c '^{"text": ".*", "label": "\(negative\|neutral\|positive\)", "probabilities": {"negative": [0-9.e-]*, "neutral": [0-9.e-]*, "positive": [0-9.e-]*}}$' <<<"$out")
[[ $count -eq 2 ]] && pass || fail "predict --json printed: $out"

# Odd but valid text is predicted, not refused: emoji, invalid UTF-8, an empty line, a
# megabyte-long line; one output line each.
{
  printf 'so happy \xf0\x9f\x98\x80\n'
  printf 'broken \xff\xfe bytes\n'
  printf '\n'
  head -c 1048576 /dev/zero | tr '\0' 'a'
  printf '\n'
} >"$work/odd.txt"
"$program" predict --model "$work/model.safetensors" --json <"$work/odd.txt" >"$work/odd.out" 2>"$work/odd.err"
status=$?
lines=$(wc -l <"$work/odd.out")
if [[ $status -ne 0 || $lines -ne 4 ]]; then
  fail "odd texts: status $status, $lines lines: $(head -c 200 "$work/odd.err")"
elif ! python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]' "$work/odd.out" 2>/dev/null; then
  fail "odd texts: the output is not valid JSON lines"
else
  pass
fi

# ---- bad input --------------------------------------------------------------------------
good=$work/model.safetensors
out=$work/out.safetensors
expect_error "no command" 2 "sentiment" "$program"
expect_error "unknown command" 2 "unknown command 'fly'" "$program" fly
expect_error "unknown option" 2 "unknown option '--speed'" "$program" train --data "$work/small" --out "$out" --speed 3
expect_error "missing --out" 2 "--out is required" "$program" train --data "$work/small"
expect_error "bad --epochs" 2 "--epochs: expected a whole number" "$program" train --data "$work/small" --out "$out" --epochs two
expect_error "negative --lr" 2 "--lr: expected a number" "$program" train --data "$work/small" --out "$out" --lr -1
expect_error "bad --protocol" 2 "--protocol: expected seed\|full" "$program" train --data "$work/small" --out "$out" --protocol half
expect_error "missing value" 2 "--seed: missing value" "$program" train --data "$work/small" --out "$out" --seed
expect_error "missing data folder" 1 "no such folder.*Tweet Sentiment Extraction" "$program" train --data "$work/nowhere" --out "$out"
expect_error "out folder missing" 1 "does not exist" "$program" train --data "$work/small" --out "$work/nowhere/x.safetensors"

make_data() {  # make_data NAME: a folder with a good test.csv and train.csv from stdin
  mkdir -p "$work/$1"
  cp "$work/small/test.csv" "$work/$1/test.csv"
  cat >"$work/$1/train.csv"
}
printf 'textID,words,sentiment\na,hello,positive\n' | make_data nocolumn
expect_error "missing column" 1 "train.csv.*text" "$program" train --data "$work/nocolumn" --protocol full --out "$out"
printf 'textID,text,sentiment\na,hello,positive\nb,meh,grumpy\n' | make_data badlabel
expect_error "unknown label" 1 "train.csv:3: unknown label 'grumpy'" "$program" train --data "$work/badlabel" --protocol full --out "$out"
printf 'textID,text,sentiment\na,"hello,positive\nb,meh,neutral\n' | make_data unclosed
expect_error "unclosed quote" 1 "train.csv:2:.*quote" "$program" train --data "$work/unclosed" --protocol full --out "$out"
printf 'textID,text,sentiment\n' | make_data headeronly
expect_error "header only" 1 "train.csv.*no rows" "$program" train --data "$work/headeronly" --protocol full --out "$out"
printf 'textID,text,sentiment\na,caf\xe9,neutral\n' | make_data badutf8
expect_error "invalid UTF-8" 1 "train.csv:2:.*UTF-8" "$program" train --data "$work/badutf8" --protocol full --out "$out"
{ printf 'textID,text,sentiment\na,'; head -c 2000000 /dev/zero | tr '\0' 'x'; printf ',neutral\n'; } | make_data longline
expect_error "very long line" 1 "train.csv:2:.*long" "$program" train --data "$work/longline" --protocol full --out "$out"
: | make_data empty
expect_error "empty file" 1 "train.csv" "$program" train --data "$work/empty" --protocol full --out "$out"

expect_error "missing model" 1 "nowhere.safetensors" "$program" predict --model "$work/nowhere.safetensors" hi
expect_error "eval missing csv" 1 "missing.csv" "$program" eval --model "$good" --data "$work/missing.csv"
head -c 1000 "$good" >"$work/truncated.safetensors"
expect_error "truncated checkpoint" 1 "truncated.safetensors" "$program" predict --model "$work/truncated.safetensors" hi
cp "$good" "$work/corrupt.safetensors"
printf '\xff\xff\xff\xff' | dd of="$work/corrupt.safetensors" bs=1 seek=0 conv=notrunc status=none
expect_error "corrupted header length" 1 "corrupt.safetensors" "$program" predict --model "$work/corrupt.safetensors" hi
cp "$good" "$work/garbled.safetensors"
printf 'XXXX' | dd of="$work/garbled.safetensors" bs=1 seek=12 conv=notrunc status=none
expect_error "corrupted header JSON" 1 "garbled.safetensors" "$program" predict --model "$work/garbled.safetensors" hi
printf 'not a checkpoint at all' >"$work/text.safetensors"
expect_error "not a checkpoint" 1 "text.safetensors" "$program" predict --model "$work/text.safetensors" hi
expect_error "checkpoint of another model" 1 "python_written.safetensors: not a sentiment checkpoint" \
  "$program" predict --model "$(dirname "$0")/../fixtures/io/python_written.safetensors" hi

echo "$passed passed, $failures failed"
[[ $failures -eq 0 ]]
