#!/usr/bin/python3
"""Checkpoint interop between PyTorch and strata's `sentiment` program, both directions.
Run by hand (needs Debian's PyTorch 1.13 and ../shared/data/tweet_sentiment):

    /usr/bin/python3 tests/interop/check_interop.py --sentiment build/examples/sentiment/sentiment \\
        [--strata-checkpoint FILE.safetensors] [--tolerance 1e-5]

(a) PyTorch -> strata: writes a fresh PyTorch checkpoint (built like the committed fixture,
    tests/interop/make_interop_fixture.py, from --seed) to a temporary folder, runs
    `sentiment predict --model CKPT --json TEXT...` and compares its probabilities with
    PyTorch's (float32, eval mode, one text at a time).
(b) strata -> PyTorch, when --strata-checkpoint is given (a checkpoint `sentiment` trained):
    loads it into PyTorch's SentimentNet (vocabulary and config from its metadata), runs
    predict on both sides for the same texts and compares.

--sentiment is split like a shell word list, so another implementation of the same interface
can stand in, e.g. --sentiment "/usr/bin/python3 bench/compare/sentiment_torch.py" (the
PyTorch one; this is how the script itself is tested). Prints one verdict line per direction
with the largest absolute difference; exit status 0 only if every direction run passes.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_interop_fixture as fixture  # noqa: E402  (texts, model; imports sentiment_torch)

st = fixture.st


def run_sentiment(command, checkpoint, texts):
    """The program's probabilities, one [p_neg, p_neu, p_pos] per text; raises on a
    malformed reply."""
    argv = command + ["predict", "--model", checkpoint, "--json"] + list(texts)
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise RuntimeError("%s exited with %d:\n%s" % (shlex.join(argv[:4]), proc.returncode,
                                                        proc.stderr.decode("utf-8", "replace")))
    lines = [ln for ln in proc.stdout.decode("utf-8").splitlines() if ln.startswith("{")]
    if len(lines) != len(texts):
        raise RuntimeError("expected %d JSON lines, got %d:\n%s"
                           % (len(texts), len(lines), proc.stdout.decode("utf-8", "replace")))
    out = []
    for text, line in zip(texts, lines):
        obj = json.loads(line)
        if obj.get("text") != text:
            raise RuntimeError("reply for %r names the text %r" % (text, obj.get("text")))
        probs = [float(obj["probabilities"][c]) for c in st.CLASSES]
        best = max(range(3), key=lambda i: probs[i])
        if obj.get("label") not in st.CLASSES or \
                probs[st.CLASSES.index(obj["label"])] < probs[best] - 1e-6:
            raise RuntimeError("reply for %r: label %r is not the most probable class"
                               % (text, obj.get("label")))
        out.append(probs)
    return out


def compare(name, texts, expected, got, tolerance):
    worst, worst_text = 0.0, None
    for text, e, g in zip(texts, expected, got):
        d = max(abs(a - b) for a, b in zip(e, g))
        if d > worst:
            worst, worst_text = d, text
    ok = worst <= tolerance
    print("%s: %s  %d texts, max |p_torch - p_strata| = %.3g (tolerance %.0e)%s"
          % (name, "PASS" if ok else "FAIL", len(texts), worst, tolerance,
             "" if ok else ", worst text %r" % worst_text), flush=True)
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sentiment", required=True,
                   help="the sentiment program (a command line; split like shell words)")
    p.add_argument("--strata-checkpoint", help="a checkpoint trained by strata's sentiment")
    p.add_argument("--data", default=st.DEFAULT_DATA)
    p.add_argument("--seed", type=int, default=2, help="init seed of the fresh PyTorch model")
    p.add_argument("--tolerance", type=float, default=1e-5)
    p.add_argument("--keep", help="also copy the fresh PyTorch checkpoint to this path")
    args = p.parse_args()
    command = shlex.split(args.sentiment)
    texts = fixture.add_tweets(fixture.TEXTS, args.data)
    all_ok = True

    # (a) PyTorch -> strata
    try:
        model, vocab = fixture.make_model(args.data, args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = os.path.join(tmp, "torch_checkpoint.safetensors")
            fixture.write_checkpoint(ckpt, model, vocab, args.seed)
            loaded, lvocab, _ = st.load_checkpoint(ckpt)
            expected = st.predict_probabilities(loaded, lvocab, texts)
            got = run_sentiment(command, ckpt, texts)
            if args.keep:
                with open(ckpt, "rb") as src, open(args.keep, "wb") as dst:
                    dst.write(src.read())
        all_ok &= compare("(a) PyTorch checkpoint -> strata predict", texts, expected, got,
                          args.tolerance)
    except Exception as e:  # noqa: BLE001 - one verdict line per direction
        print("(a) PyTorch checkpoint -> strata predict: FAIL  %s: %s" % (type(e).__name__, e))
        all_ok = False

    # (b) strata -> PyTorch
    if args.strata_checkpoint:
        try:
            model, vocab, config = st.load_checkpoint(args.strata_checkpoint)
            expected = st.predict_probabilities(model, vocab, texts)
            got = run_sentiment(command, args.strata_checkpoint, texts)
            name = "(b) strata checkpoint (V = %d%s) -> PyTorch" % (
                len(vocab), ", epoch %s" % config["epoch"] if "epoch" in config else "")
            all_ok &= compare(name, texts, expected, got, args.tolerance)
        except Exception as e:  # noqa: BLE001
            print("(b) strata checkpoint -> PyTorch: FAIL  %s: %s" % (type(e).__name__, e))
            all_ok = False
    else:
        print("(b) strata checkpoint -> PyTorch: skipped (no --strata-checkpoint)")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
