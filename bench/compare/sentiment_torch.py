#!/usr/bin/python3
"""The PyTorch side of every strata comparison: the sentiment classifier of
shared/design/SEED_MODEL.md (CNN -> GRU -> multi-head attention), its tokenizer,
vocabulary, recipe, both protocols and its safetensors checkpoint, in PyTorch 1.13
(Debian's python3-torch; no other packages).

    /usr/bin/python3 bench/compare/sentiment_torch.py [--threads N] [--data DIR] COMMAND ...

COMMAND is one of
    self-test                       tokenizer vs tokenizer_cases.jsonl (every line), the model's
                                    forward vs the fixture generator's reference forward, and a
                                    checkpoint write/read round trip
    train --protocol seed|full --seed N [--epochs 5] [--batch 32] [--lr 1e-3] [--out F]
    epoch-time --seed N             one seed-protocol training epoch, timed
    latency                         batch-1 inference of one 20-token text, jit-scripted
    throughput --file test.csv      batch-256 inference over a file in file order
    fwdbwd                          forward+backward of the whole model at B = 32, T = 32
    predict --model F [TEXT ...]    one JSON line per text (stdin lines when no TEXT)

Every timing command prints one JSON line last (bench/compare/README.md says what each
measures). Threads: torch.set_num_threads(N) (default 2) with OpenBLAS/MKL held at 1 thread,
set in the environment before torch is imported (the spec's fastest PyTorch setting).
"""

import os
import sys


def _early_threads(argv):
    """--threads must act before torch is imported (it sizes OpenMP's pool from the env)."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "2"


_THREADS = _early_threads(sys.argv[1:])
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = _THREADS

import argparse  # noqa: E402
import copy  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import struct  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from typing import List, Optional, Tuple  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "fixtures"))
import make_layer_fixtures as _fixtures  # noqa: E402  (the reference SentimentNet, the writer)

# make_layer_fixtures sets float64 and one thread for its own purposes: undo both.
torch.set_default_dtype(torch.float32)
torch.set_num_threads(int(_THREADS))

write_safetensors = _fixtures.write_safetensors

DEFAULT_DATA = os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "data", "tweet_sentiment"))
TOKENIZER_CASES = os.path.normpath(
    os.path.join(REPO_ROOT, "..", "shared", "design", "tokenizer_cases.jsonl"))

CLASSES = ["negative", "neutral", "positive"]
LABEL_IDS = {c: i for i, c in enumerate(CLASSES)}
T_MAX = 64
MIN_COUNT = 2
MAX_VOCAB = 20000
PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1


# --------------------------------------------------------------------------
# tokenizer (SEED_MODEL.md "Text -> token ids", rules 1-3 and the settled points)
# --------------------------------------------------------------------------
_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_URL_PREFIXES = (b"http://", b"https://", b"www.")
_USER = re.compile(rb"@[a-z0-9_]+")
# A word: word characters (a-z, 0-9, any byte >= 0x80), with ' or ` allowed between two word
# characters. Anything else: one character, a run of it collapsed to one token.
_PIECE = re.compile(rb"[a-z0-9\x80-\xff]+(?:['`][a-z0-9\x80-\xff]+)*|([^a-z0-9\x80-\xff])\1*")


def _cut(chunk: bytes, start: int, out: List[str]) -> None:
    for m in _PIECE.finditer(chunk, start):
        if m.group(1) is None:
            out.append(m.group(0).replace(b"`", b"'").decode("utf-8"))
        else:
            out.append(m.group(1).decode("utf-8"))


def tokenize(text: str) -> List[str]:
    """Tokens of one text, before the vocabulary and the T_max cut (empty list allowed)."""
    data = text.encode("utf-8").translate(_LOWER)
    out: List[str] = []
    # bytes.split() splits on exactly the six ASCII white-space bytes (C isspace, "C" locale).
    for chunk in data.split():
        if chunk.startswith(_URL_PREFIXES):
            out.append("<url>")
            continue
        start = 0
        m = _USER.match(chunk)
        if m:
            out.append("<user>")
            start = m.end()
        _cut(chunk, start, out)
    return out


def tokenizer_self_test(path=TOKENIZER_CASES) -> Tuple[int, int, List[str]]:
    total, failures = 0, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            case = json.loads(line)
            total += 1
            got = tokenize(case["text"])
            if got != case["tokens"]:
                failures.append("%r: expected %r, got %r" % (case["text"], case["tokens"], got))
    return total, total - len(failures), failures


# --------------------------------------------------------------------------
# vocabulary
# --------------------------------------------------------------------------
class Vocab:
    def __init__(self, tokens: List[str]):
        if tokens[:2] != [PAD, UNK]:
            raise ValueError("vocabulary must start with <pad>, <unk>")
        if len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary has a repeated token")
        self.tokens = list(tokens)
        self.ids = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, tokenized_texts, min_count=MIN_COUNT, max_size=MAX_VOCAB):
        counts = Counter()
        for toks in tokenized_texts:           # every token, before the T_max cut
            counts.update(toks)
        counts.pop(PAD, None)
        counts.pop(UNK, None)
        learned = [t for t, c in counts.items() if c >= min_count]
        learned.sort(key=lambda t: (-counts[t], t.encode("utf-8")))   # count desc, bytewise
        return cls([PAD, UNK] + learned[:max_size])

    def __len__(self):
        return len(self.tokens)

    def encode_tokens(self, tokens: List[str], max_length=T_MAX) -> List[int]:
        ids = [self.ids.get(t, UNK_ID) for t in tokens[:max_length]]
        return ids if ids else [UNK_ID]

    def encode(self, text: str, max_length=T_MAX) -> List[int]:
        return self.encode_tokens(tokenize(text), max_length)


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def read_csv(path):
    """[(text, label_id)] in file order (columns textID,text,sentiment)."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header[:3] != ["textID", "text", "sentiment"]:
            raise ValueError("%s: unexpected header %r" % (path, header))
        for r in reader:
            rows.append((r[1], LABEL_IDS[r[2]]))
    return rows


def seeded_permutation(n, seed):
    g = torch.Generator()
    g.manual_seed(seed)
    return torch.randperm(n, generator=g).tolist()


def split_protocol(data_dir, protocol, seed):
    """(train_rows, val_rows, test_rows or None).

    seed: test.csv shuffled with the seed, first floor(0.8 n) = 2,827 train, rest 707 val.
    full: train.csv shuffled with the seed, last round(0.1 n) = 2,748 val, rest 24,732
    train; test = test.csv in file order."""
    if protocol == "seed":
        rows = read_csv(os.path.join(data_dir, "test.csv"))
        perm = seeded_permutation(len(rows), seed)
        n_train = (len(rows) * 8) // 10
        shuffled = [rows[i] for i in perm]
        return shuffled[:n_train], shuffled[n_train:], None
    if protocol == "full":
        rows = read_csv(os.path.join(data_dir, "train.csv"))
        perm = seeded_permutation(len(rows), seed)
        n_val = int(round(len(rows) * 0.1))
        shuffled = [rows[i] for i in perm]
        test = read_csv(os.path.join(data_dir, "test.csv"))
        return shuffled[:len(rows) - n_val], shuffled[len(rows) - n_val:], test
    raise ValueError("protocol must be seed or full")


class Encoded:
    """Texts encoded once: ids [N, T_MAX] (0-padded), lengths [N], labels [N]."""

    def __init__(self, id_lists, labels):
        n = len(id_lists)
        self.ids = torch.zeros(n, T_MAX, dtype=torch.int64)
        for i, ids in enumerate(id_lists):
            self.ids[i, :len(ids)] = torch.tensor(ids, dtype=torch.int64)
        self.lengths = torch.tensor([len(x) for x in id_lists], dtype=torch.int64)
        self.labels = torch.tensor(labels, dtype=torch.int64)

    def __len__(self):
        return self.ids.shape[0]

    def batch(self, index):
        """index: LongTensor of rows; ids cut to the batch's longest text."""
        lengths = self.lengths[index]
        t = int(lengths.max())
        return self.ids[index, :t], lengths, self.labels[index]

    def batches(self, size, order=None):
        n = len(self)
        order = torch.arange(n) if order is None else order
        for s in range(0, n, size):
            yield self.batch(order[s:s + size])


def encode_rows(vocab, rows, token_lists=None):
    token_lists = token_lists if token_lists is not None else [tokenize(t) for t, _ in rows]
    return Encoded([vocab.encode_tokens(toks) for toks in token_lists], [y for _, y in rows])


# --------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------
class SentimentTorch(_fixtures.SentimentNet):
    """tests/fixtures/make_layer_fixtures.py's SentimentNet (same layers, same state_dict
    names) with a TorchScript-able forward of the same function: padded positions zeroed
    after every sequence layer, packed GRU, key padding mask, mean over the valid positions.
    When no text of the batch is padded (e.g. batch 1), packing and masks are skipped: the
    function is the same. self-test checks it against the reference forward."""

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        t_max = ids.size(1)
        lengths = lengths.to(torch.int64)
        padded = bool((lengths < t_max).any())
        x = self.embedding(ids)                                      # [B,T,E]
        if padded:
            mask = torch.arange(t_max, device=ids.device).unsqueeze(0) < lengths.unsqueeze(1)
            m = mask.unsqueeze(2).to(x.dtype)
            x = x * m
            x = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2) * m
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            h, _ = self.gru(packed)
            x, _ = pad_packed_sequence(h, batch_first=True, total_length=t_max)
            a, _ = self.attn(x, x, x, key_padding_mask=~mask, need_weights=False)
            pooled = (a * m).sum(dim=1) / lengths.unsqueeze(1).to(a.dtype)
        else:
            x = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
            x, _ = self.gru(x)
            a, _ = self.attn(x, x, x, need_weights=False)
            pooled = a.mean(dim=1)
        return self.fc(self.dropout(pooled))


def new_model(vocab_size, seed):
    """PyTorch's default initialisation, from one seed."""
    torch.manual_seed(seed)
    return SentimentTorch(vocab_size)


# --------------------------------------------------------------------------
# checkpoint (SEED_MODEL.md "The checkpoint file")
# --------------------------------------------------------------------------
STATE_SHAPES = [  # name, shape with V for the vocabulary size
    ("embedding.weight", ("V", 128)), ("conv.weight", (128, 128, 3)), ("conv.bias", (128,)),
    ("gru.weight_ih_l0", (384, 128)), ("gru.weight_hh_l0", (384, 128)),
    ("gru.bias_ih_l0", (384,)), ("gru.bias_hh_l0", (384,)),
    ("attn.in_proj_weight", (384, 128)), ("attn.in_proj_bias", (384,)),
    ("attn.out_proj.weight", (128, 128)), ("attn.out_proj.bias", (128,)),
    ("fc.weight", (3, 128)), ("fc.bias", (3,)),
]


def model_config(vocab_size, **extra):
    config = {"format": "strata-sentiment", "version": 1, "classes": CLASSES,
              "max_length": T_MAX, "embedding_dim": 128, "conv_channels": 128,
              "conv_kernel": 3, "gru_hidden": 128, "attention_heads": 4, "dropout": 0.3,
              "vocab_size": vocab_size}
    config.update(extra)
    return config


def save_checkpoint(path, state_dict, vocab, **config_extra):
    names = [n for n, _ in STATE_SHAPES]
    if list(state_dict.keys()) != names:
        raise ValueError("unexpected state_dict names %r" % list(state_dict.keys()))
    tensors = [(n, state_dict[n], "F32") for n in names]
    metadata = {"config": json.dumps(model_config(len(vocab), **config_extra)),
                "vocab": json.dumps(vocab.tokens, ensure_ascii=False)}
    write_safetensors(path, tensors, metadata)


def read_safetensors(path):
    """(OrderedDict name -> float32 tensor, metadata dict). F32 (and F64) tensors only."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    base = 8 + n
    tensors = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = info["data_offsets"]
        dtype = {"F32": torch.float32, "F64": torch.float64}[info["dtype"]]
        t = torch.frombuffer(bytearray(raw[base + begin:base + end]), dtype=dtype)
        tensors[name] = t.reshape(info["shape"]).to(torch.float32)
    return tensors, metadata


def load_checkpoint(path):
    """(model in eval mode, vocab, config)."""
    tensors, metadata = read_safetensors(path)
    config = json.loads(metadata["config"])
    vocab = Vocab(json.loads(metadata["vocab"]))
    if config.get("format") != "strata-sentiment":
        raise ValueError("%s: config format is %r" % (path, config.get("format")))
    if config.get("vocab_size") != len(vocab):
        raise ValueError("%s: vocab_size %r but %d tokens" % (path, config.get("vocab_size"),
                                                             len(vocab)))
    if config.get("classes", CLASSES) != CLASSES or config.get("max_length", T_MAX) != T_MAX:
        raise ValueError("%s: unsupported classes or max_length" % path)
    for name, shape in STATE_SHAPES:
        want = [len(vocab) if s == "V" else s for s in shape]
        if name not in tensors or list(tensors[name].shape) != want:
            raise ValueError("%s: %s missing or not of shape %r" % (path, name, want))
    model = SentimentTorch(len(vocab))
    model.load_state_dict({n: tensors[n] for n, _ in STATE_SHAPES}, strict=True)
    model.eval()
    return model, vocab, config


# --------------------------------------------------------------------------
# training and evaluation
# --------------------------------------------------------------------------
def evaluate(model, data: Encoded, batch=256):
    """(mean loss, accuracy, macro-F1, predictions) in eval mode."""
    model.eval()
    total_loss, preds = 0.0, []
    with torch.inference_mode():
        for ids, lengths, labels in data.batches(batch):
            logits = model(ids, lengths)
            total_loss += float(F.cross_entropy(logits, labels, reduction="sum"))
            preds.append(logits.argmax(dim=1))
    pred = torch.cat(preds)
    return total_loss / len(data), accuracy(pred, data.labels), macro_f1(pred, data.labels), pred


def accuracy(pred, labels):
    return float((pred == labels).float().mean())


def macro_f1(pred, labels, classes=3):
    """Mean over the classes of F1 = 2 TP / (2 TP + FP + FN) (0 when the class is neither
    predicted nor present)."""
    f1s = []
    for c in range(classes):
        tp = int(((pred == c) & (labels == c)).sum())
        fp = int(((pred == c) & (labels != c)).sum())
        fn = int(((pred != c) & (labels == c)).sum())
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return sum(f1s) / classes


def train_epoch(model, opt, data: Encoded, batch, gen):
    """One epoch: a fresh permutation from gen, Adam steps with clip-norm 1.0.
    Returns (mean training loss over the tweets, wall seconds)."""
    model.train()
    start = time.perf_counter()
    order = torch.randperm(len(data), generator=gen)
    total = 0.0
    params = [p for p in model.parameters()]
    for ids, lengths, labels in data.batches(batch, order):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(ids, lengths), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        total += float(loss) * labels.shape[0]
    return total / len(data), time.perf_counter() - start


def prepare(args, protocol, seed):
    train_rows, val_rows, test_rows = split_protocol(args.data, protocol, seed)
    train_tokens = [tokenize(t) for t, _ in train_rows]
    vocab = Vocab.build(train_tokens)
    train = encode_rows(vocab, train_rows, train_tokens)
    val = encode_rows(vocab, val_rows)
    test = encode_rows(vocab, test_rows) if test_rows is not None else None
    return vocab, train, val, test


def make_optimizer(model, lr):
    return torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)


def cmd_train(args):
    t0 = time.perf_counter()
    vocab, train, val, test = prepare(args, args.protocol, args.seed)
    print("protocol %s seed %d: %d train / %d val%s, V = %d, threads %d (data %.2f s)"
          % (args.protocol, args.seed, len(train), len(val),
             " / %d test" % len(test) if test is not None else "", len(vocab),
             torch.get_num_threads(), time.perf_counter() - t0), flush=True)
    model = new_model(len(vocab), args.seed)
    opt = make_optimizer(model, args.lr)
    gen = torch.Generator()
    gen.manual_seed(args.seed)
    best = None
    epoch_seconds = []
    history = []
    for epoch in range(1, args.epochs + 1):
        train_loss, secs = train_epoch(model, opt, train, args.batch, gen)
        val_loss, val_acc, val_f1, _ = evaluate(model, val)
        epoch_seconds.append(secs)
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
                        "val_acc": val_acc, "val_macro_f1": val_f1})
        print("epoch %d  train loss %.4f  val loss %.4f  val acc %.4f  val macro-F1 %.4f  "
              "%.2f s  %.0f tweets/s" % (epoch, train_loss, val_loss, val_acc, val_f1, secs,
                                         len(train) / secs), flush=True)
        if best is None or val_loss < best["val_loss"]:
            best = dict(history[-1], state=copy.deepcopy(model.state_dict()))
    model.load_state_dict(best["state"])
    result = {"val_acc": best["val_acc"], "val_loss": best["val_loss"],
              "val_macro_f1": best["val_macro_f1"], "kept_epoch": best["epoch"],
              "epoch_seconds": epoch_seconds,
              "tweets_per_second": len(train) * len(epoch_seconds) / sum(epoch_seconds),
              "last_epoch_val_acc": history[-1]["val_acc"],
              "train_loss": [h["train_loss"] for h in history],
              "val_loss_per_epoch": [h["val_loss"] for h in history]}
    if test is not None:
        test_loss, test_acc, test_f1, _ = evaluate(model, test)
        result.update(test_acc=test_acc, test_macro_f1=test_f1, test_loss=test_loss)
    if args.out:
        save_checkpoint(args.out, model.state_dict(), vocab,
                        recipe={"optimizer": "adam", "lr": args.lr, "betas": [0.9, 0.999],
                                "eps": 1e-8, "batch": args.batch, "epochs": args.epochs,
                                "clip_grad_norm": 1.0},
                        seed=args.seed, protocol=args.protocol, epoch=best["epoch"],
                        trainer="bench/compare/sentiment_torch.py, PyTorch " + torch.__version__)
        print("wrote %s (epoch %d)" % (args.out, best["epoch"]), flush=True)
    print(json.dumps(result))


def cmd_epoch_time(args):
    vocab, train, _, _ = prepare(args, "seed", args.seed)
    model = new_model(len(vocab), args.seed)
    opt = make_optimizer(model, 1e-3)
    gen = torch.Generator()
    gen.manual_seed(args.seed)
    _, secs = train_epoch(model, opt, train, 32, gen)
    print(json.dumps({"epoch_seconds": secs, "tweets_per_second": len(train) / secs,
                      "tweets": len(train), "threads": torch.get_num_threads()}))


def seed_vocab(args):
    """The vocabulary of the seed protocol's training split (seed 1): the model size the
    inference benchmarks run at when no --model is given."""
    train_rows, _, _ = split_protocol(args.data, "seed", 1)
    return Vocab.build([tokenize(t) for t, _ in train_rows])


def bench_model(args):
    if getattr(args, "model", None):
        model, vocab, _ = load_checkpoint(args.model)
    else:
        vocab = seed_vocab(args)
        model = new_model(len(vocab), 1)
    model.eval()
    return model, vocab


def cmd_latency(args):
    model, vocab = bench_model(args)
    rows = read_csv(os.path.join(args.data, "test.csv"))
    text = next(t for t, _ in rows if len(tokenize(t)) == 20)   # first 20-token tweet
    ids_list = vocab.encode(text)
    ids = torch.tensor([ids_list], dtype=torch.int64)
    lengths = torch.tensor([len(ids_list)], dtype=torch.int64)
    scripted, script_error = True, None
    try:
        runner = torch.jit.script(model)
    except Exception as e:   # noqa: BLE001 - report, then fall back to eager
        scripted, script_error, runner = False, "%s: %s" % (type(e).__name__, e), model
    with torch.inference_mode():
        for _ in range(args.warmup):
            torch.softmax(runner(ids, lengths), dim=1)
        times = []
        for _ in range(args.calls):
            t = time.perf_counter()
            torch.softmax(runner(ids, lengths), dim=1)
            times.append(time.perf_counter() - t)
        times_tok = []
        for _ in range(args.calls // 4):
            t = time.perf_counter()
            e = vocab.encode(text)
            torch.softmax(runner(torch.tensor([e]), torch.tensor([len(e)])), dim=1)
            times_tok.append(time.perf_counter() - t)
    out = {"median_us": statistics.median(times) * 1e6,
           "median_us_with_tokenize": statistics.median(times_tok) * 1e6,
           "calls": args.calls, "tokens": len(ids_list), "scripted": scripted,
           "threads": torch.get_num_threads(), "vocab_size": len(vocab)}
    if script_error:
        out["script_error"] = script_error
    print(json.dumps(out))


def cmd_throughput(args):
    model, vocab = bench_model(args)
    path = args.file if os.path.isabs(args.file) or os.path.exists(args.file) \
        else os.path.join(args.data, args.file)
    rows = read_csv(path)
    t0 = time.perf_counter()
    data = encode_rows(vocab, rows)
    tokenize_s = time.perf_counter() - t0
    batches = [(ids, lengths) for ids, lengths, _ in data.batches(args.batch)]
    rates = []
    with torch.inference_mode():
        for ids, lengths in batches[:2]:                       # warm-up
            torch.softmax(model(ids, lengths), dim=1)
        for _ in range(args.repeats):
            t = time.perf_counter()
            for ids, lengths in batches:
                torch.softmax(model(ids, lengths), dim=1)
            rates.append(len(data) / (time.perf_counter() - t))
    print(json.dumps({"tweets_per_second": statistics.median(rates), "passes": rates,
                      "tweets": len(data), "batch": args.batch,
                      "tokenize_encode_seconds": tokenize_s,
                      "threads": torch.get_num_threads(), "vocab_size": len(vocab)}))


def cmd_fwdbwd(args):
    v = args.vocab or len(seed_vocab(args))
    model = new_model(v, 1)
    model.train()
    g = torch.Generator()
    g.manual_seed(1)
    ids = torch.randint(2, v, (args.b, args.t), generator=g)
    lengths = torch.full((args.b,), args.t, dtype=torch.int64)
    labels = torch.randint(0, 3, (args.b,), generator=g)
    times = []
    for i in range(args.warmup + args.iters):
        t = time.perf_counter()
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(ids, lengths), labels).backward()
        if i >= args.warmup:
            times.append(time.perf_counter() - t)
    print(json.dumps({"median_ms": statistics.median(times) * 1e3, "B": args.b, "T": args.t,
                      "vocab_size": v, "iters": args.iters,
                      "threads": torch.get_num_threads()}))


def predict_probabilities(model, vocab, texts) -> List[List[float]]:
    """Eval-mode float32 probabilities, one text at a time (batch 1, no padding)."""
    model.eval()
    out = []
    with torch.inference_mode():
        for text in texts:
            ids = vocab.encode(text)
            logits = model(torch.tensor([ids], dtype=torch.int64),
                           torch.tensor([len(ids)], dtype=torch.int64))
            out.append([float(p) for p in torch.softmax(logits, dim=1)[0]])
    return out


def prediction_json(text, probs):
    return {"text": text, "label": CLASSES[max(range(3), key=lambda i: probs[i])],
            "probabilities": {c: p for c, p in zip(CLASSES, probs)}}


def cmd_predict(args):
    model, vocab, _ = load_checkpoint(args.model)
    texts = args.texts if args.texts else [line.rstrip("\n") for line in sys.stdin]
    for text, probs in zip(texts, predict_probabilities(model, vocab, texts)):
        print(json.dumps(prediction_json(text, probs), ensure_ascii=False), flush=True)


def cmd_self_test(args):
    ok = True
    total, passed, failures = tokenizer_self_test(args.cases)
    print("tokenizer: %d/%d cases match (%s)" % (passed, total, args.cases))
    for f in failures[:20]:
        print("  FAIL " + f)
    ok &= passed == total and total > 0
    # The forward here vs the fixture generator's reference forward, padded and unpadded.
    torch.manual_seed(3)
    model = SentimentTorch(50)
    with torch.no_grad():
        model.attn.in_proj_bias.uniform_(-0.1, 0.1)
        model.attn.out_proj.bias.uniform_(-0.1, 0.1)
    model.eval()
    ref = _fixtures.SentimentNet(50)
    ref.load_state_dict(model.state_dict())
    ref.eval()
    lengths = torch.tensor([9, 1, 5, 9, 3])
    ids = torch.randint(1, 50, (5, 9)) * (torch.arange(9)[None, :] < lengths[:, None])
    worst = 0.0
    with torch.no_grad():
        for i, l in [(ids, lengths), (ids[:1], lengths[:1]), (ids[1:2, :1], lengths[1:2])]:
            worst = max(worst, float((model(i, l) - ref(i, l)).abs().max()))
        scripted = torch.jit.script(model)
        worst = max(worst, float((scripted(ids, lengths) - ref(ids, lengths)).abs().max()))
    print("forward vs reference SentimentNet (eager and scripted): max |diff| %.3g" % worst)
    ok &= worst < 1e-5
    # Checkpoint round trip.
    import tempfile
    vocab = Vocab.build([["a", "b", "a", "é", "é", "b", "c"]])
    with tempfile.TemporaryDirectory() as d:
        model = new_model(len(vocab), 1)
        save_checkpoint(os.path.join(d, "m.safetensors"), model.state_dict(), vocab, seed=1)
        loaded, v2, cfg = load_checkpoint(os.path.join(d, "m.safetensors"))
        same = all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                     loaded.state_dict().values()))
    rt = same and v2.tokens == vocab.tokens == [PAD, UNK, "a", "b", "é"] and cfg["seed"] == 1
    print("checkpoint round trip: %s" % ("ok" if rt else "FAILED"))
    ok &= rt
    print("self-test: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2,
                   help="torch intra-op threads (OpenBLAS held at 1); default 2")
    p.add_argument("--data", default=DEFAULT_DATA,
                   help="folder with train.csv and test.csv (default %(default)s)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("self-test", help="tokenizer cases, forward vs reference, round trip")
    s.add_argument("--cases", default=TOKENIZER_CASES)

    s = sub.add_parser("train", help="the spec recipe under one protocol")
    s.add_argument("--protocol", choices=["seed", "full"], required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--epochs", type=int, default=5)
    s.add_argument("--batch", type=int, default=32)
    s.add_argument("--lr", type=float, default=1e-3)
    s.add_argument("--out", help="write the kept checkpoint here (.safetensors)")

    s = sub.add_parser("epoch-time", help="one seed-protocol training epoch, timed")
    s.add_argument("--seed", type=int, default=1)

    s = sub.add_parser("latency", help="batch-1 inference of one 20-token text (jit.script)")
    s.add_argument("--model", help="checkpoint (default: fresh model, seed-protocol vocab)")
    s.add_argument("--calls", type=int, default=2000)
    s.add_argument("--warmup", type=int, default=200)

    s = sub.add_parser("throughput", help="batch-256 inference over a file in file order")
    s.add_argument("--file", default="test.csv", help="test.csv, train.csv (in --data) or a path")
    s.add_argument("--model", help="checkpoint (default: fresh model, seed-protocol vocab)")
    s.add_argument("--batch", type=int, default=256)
    s.add_argument("--repeats", type=int, default=3)

    s = sub.add_parser("fwdbwd", help="whole-model forward+backward at B = 32, T = 32")
    s.add_argument("--b", type=int, default=32)
    s.add_argument("--t", type=int, default=32)
    s.add_argument("--vocab", type=int, default=0,
                   help="vocabulary size (default: the seed protocol's, seed 1)")
    s.add_argument("--iters", type=int, default=50)
    s.add_argument("--warmup", type=int, default=5)

    s = sub.add_parser("predict", help="probabilities from a checkpoint, one JSON line per text")
    s.add_argument("--model", required=True)
    s.add_argument("--json", action="store_true", help="accepted for the C++ interface; "
                   "output is always JSON lines")
    s.add_argument("texts", nargs="*", help="texts (default: one per line on stdin)")

    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    handler = {"self-test": cmd_self_test, "train": cmd_train, "epoch-time": cmd_epoch_time,
               "latency": cmd_latency, "throughput": cmd_throughput, "fwdbwd": cmd_fwdbwd,
               "predict": cmd_predict}[args.command]
    return handler(args) or 0


if __name__ == "__main__":
    sys.exit(main())
