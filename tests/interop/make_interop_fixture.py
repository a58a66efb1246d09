#!/usr/bin/python3
"""PyTorch -> strata interop fixture for the sentiment classifier (shared/design/SEED_MODEL.md).

Regenerate (Debian's PyTorch 1.13, no other packages; needs ../shared/data/tweet_sentiment):

    /usr/bin/python3 tests/interop/make_interop_fixture.py [--data DIR]

writes
- tests/fixtures/interop/torch_checkpoint.safetensors: a PyTorch-initialised SentimentNet
  (torch.manual_seed(1), PyTorch's default inits, then attention biases in_proj_bias and
  out_proj.bias uniform(-0.1, 0.1) so they matter) in the checkpoint format of the spec:
  13 F32 tensors under their state_dict names, __metadata__ {"config": JSON text,
  "vocab": JSON text}. Its vocabulary is built by the spec's rules (count >= 2, count desc
  then bytewise) from the first 300 data rows of test.csv, so V is small (~1 MB file).
- tests/fixtures/interop/torch_probabilities.jsonl: one line per text of TEXTS below,
  {"text": ..., "ids": [...], "probabilities": [p_negative, p_neutral, p_positive]}: ids are
  the token ids after the vocabulary and the T_max = 64 cut (empty text -> [1]); the
  probabilities are PyTorch's float32 eval-mode softmax for that text alone (batch 1),
  written as the exact float32 values (json of Python floats). A C++ test loads the checkpoint
  with strata and compares within 1e-5 absolute.

The script checks that float32 batch-1, float32 batched-with-padding and float64 results agree
within 1e-6, so the 1e-5 tolerance measures implementation differences, not rounding. One
thread: a rerun on the same machine writes byte-identical files.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO_ROOT, "bench", "compare"))
import sentiment_torch as st  # noqa: E402  (tokenizer, vocabulary, model, checkpoint I/O)

import torch  # noqa: E402

torch.set_num_threads(1)

OUT_DIR = os.path.join(REPO_ROOT, "tests", "fixtures", "interop")
CHECKPOINT = os.path.join(OUT_DIR, "torch_checkpoint.safetensors")
PROBABILITIES = os.path.join(OUT_DIR, "torch_probabilities.jsonl")
VOCAB_ROWS = 300

# No text starts with '-': check_interop.py passes them as command-line arguments.
TEXTS = [
    "",                                                   # empty -> <unk>
    "   \t \n  ",                                         # white space only -> <unk>
    "\u00a0",                                             # UTF-8 no-break space: one (unknown) word
    "I love this!!! \U0001F60D\U0001F60D",               # emoji
    "\U0001F600",                                         # emoji only
    "check it out http://twitpic.com/67ezh so good",      # URL
    "www.example.com HTTPS://Example.COM/Path",           # URL forms
    "@bob: thanks so much @alice_99 for the help",        # @mentions
    "@bob's day @@x @_ @",                                # @ edge cases
    "what?!?!?! ....... no way!!!!!!",                   # repeated punctuation
    "!!!???",
    "Caf\u00e9 na\u00efve \u00fcber \u2014 d\u00e9j\u00e0 vu",   # non-ASCII letters and a dash
    "\u6211\u5f88\u5f00\u5fc3 today",                     # CJK
    "xyzzy plugh qwertyuiop zzzzzz frobnicate",           # unknown words
    "It`s fine` `really` don't can`t won''t",             # apostrophes and backticks
    "_under_score_ and <pad> <unk> <user> <url>",         # literal specials are not specials
    "line one\nline two\ttab\rreturn",                    # inner white space
    "2day is 4 u, 100% sure :) :( ;-)",                   # digits, emoticons
    "SHOUTING IN ALL CAPS IS SO ANNOYING",
    "a",
    "happy",
    "sad",
    " ".join(["good"] * 64),                              # exactly T_max tokens
    " ".join(["good"] * 64 + ["bad"] * 40),               # longer: same ids as the line above
    "so " * 30 + "this is the end of a very long text that goes on and on and on, "
    "well past the sixty-four token limit of the model, so the tail never counts at all!",
]


def add_tweets(texts, data_dir):
    """Ordinary tweets: 8 from the vocabulary rows, 8 from after them."""
    rows = st.read_csv(os.path.join(data_dir, "test.csv"))
    picked = [t for t, _ in rows[:VOCAB_ROWS:37]][:8] + [t for t, _ in rows[1000::211]][:8]
    return texts + [t for t in picked if not t.startswith("-")]


def make_model(data_dir, seed=1):
    """(model in eval mode, vocab): vocabulary from the first 300 rows of test.csv, default
    init from `seed`, attention biases uniform(-0.1, 0.1)."""
    rows = st.read_csv(os.path.join(data_dir, "test.csv"))[:VOCAB_ROWS]
    vocab = st.Vocab.build([st.tokenize(t) for t, _ in rows])
    model = st.new_model(len(vocab), seed)
    with torch.no_grad():
        model.attn.in_proj_bias.uniform_(-0.1, 0.1)
        model.attn.out_proj.bias.uniform_(-0.1, 0.1)
    model.eval()
    return model, vocab


def write_checkpoint(path, model, vocab, seed=1):
    st.save_checkpoint(path, model.state_dict(), vocab, seed=seed,
                       description="tests/interop/make_interop_fixture.py: PyTorch default init "
                                   "from seed %d, attention biases uniform(-0.1,0.1), untrained; "
                                   "vocabulary from the first %d rows of test.csv"
                                   % (seed, VOCAB_ROWS),
                       generator="PyTorch " + torch.__version__)


def reference_check(model, vocab, texts, probs):
    """Max |diff| of the batch-1 float32 probabilities vs float32 batched (padded) and float64."""
    data = st.Encoded([vocab.encode(t) for t in texts], [0] * len(texts))
    worst = 0.0
    expected = torch.tensor(probs, dtype=torch.float64)
    with torch.inference_mode():
        ids, lengths, _ = data.batch(torch.arange(len(texts)))
        batched = torch.softmax(model(ids, lengths), dim=1).double()
        worst = max(worst, float((batched - expected).abs().max()))
    m64 = st.SentimentTorch(len(vocab)).double()
    m64.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    m64.eval()
    with torch.inference_mode():
        for i, text in enumerate(texts):
            e = vocab.encode(text)
            p = torch.softmax(m64(torch.tensor([e]), torch.tensor([len(e)])), dim=1)[0]
            worst = max(worst, float((p - expected[i]).abs().max()))
    return worst


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=st.DEFAULT_DATA)
    args = p.parse_args()
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    texts = add_tweets(TEXTS, args.data)
    model, vocab = make_model(args.data)
    write_checkpoint(CHECKPOINT, model, vocab)
    # Probabilities from the checkpoint as written (it is what the C++ test loads).
    loaded, lvocab, _ = st.load_checkpoint(CHECKPOINT)
    probs = st.predict_probabilities(loaded, lvocab, texts)
    worst = reference_check(loaded, lvocab, texts, probs)
    if worst > 1e-6:
        raise SystemExit("float32 batch-1 vs batched/float64 differ by %.3g" % worst)
    with open(PROBABILITIES, "w", encoding="utf-8") as f:
        for text, pr in zip(texts, probs):
            f.write(json.dumps({"text": text, "ids": lvocab.encode(text),
                                "probabilities": pr}) + "\n")
    for path in (CHECKPOINT, PROBABILITIES):
        print("%-55s %8d bytes" % (os.path.relpath(path), os.path.getsize(path)))
    print("V = %d, %d texts, float32 vs batched/float64 max |diff| %.3g"
          % (len(lvocab), len(texts), worst))


if __name__ == "__main__":
    main()
