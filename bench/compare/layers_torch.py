#!/usr/bin/python3
"""strata's layer benchmarks (bench/bench_sequence_layers.cpp, bench_gru.cpp,
bench_attention.cpp, bench_linear.cpp) rebuilt in PyTorch 1.13 (Debian's python3-torch):
the same layers, sizes, batch (32), lengths, float32 and thread count.

    /usr/bin/python3 bench/compare/layers_torch.py [--threads N] [--filter REGEX]
        [--min-time S] [--min-reps N] [--max-reps N] [--warmup N] [--table] [--list]

Prints one JSON line per measurement,
    {"layer": ..., "mode": "forward"|"forward+backward"|"backward", "threads": N,
     "median_us": ..., "reps": ..., "torch": torch.__version__}
or, with --table, a readable table instead. bench/compare/compare_layers.py pairs these
with strata's Google Benchmark results.

What is timed (per call, time.perf_counter, median over the repetitions after --warmup
calls; repetitions run until both --min-time seconds and --min-reps calls are reached, or
--max-reps):
  forward            the module in training mode (dropout-free layers, so the same math as
                     eval), under torch.no_grad(): strata's "forward" is a training-mode
                     forward that keeps what its backward needs but builds no graph.
  forward+backward   zero_grad(set_to_none=True) and input.grad = None, forward with autograd,
                     out.backward(g) with a fixed upstream gradient g (random normal, made once,
                     zero at padded positions as a masked model would produce). The input
                     requires grad (strata's benches compute d_in), except the Embedding's
                     integer ids (strata's Embedding has no d_in either).
  backward           only for Linear: bench_linear's linear_backward times the backward alone
                     (dW, db, d_in; its forward runs once before the loop), so here the
                     forward runs once and each call is zero_grad + out.backward(g,
                     retain_graph=True).
Inputs, ids, lengths, masks and index tensors are built once, outside the timed calls (the
C++ benches build their Context the same way).

Layers and how a PyTorch user writes them (strata's layout is [B, T, F] throughout):
  Embedding          nn.Embedding(20000, 128, padding_idx=0); ids 0 at padded positions.
                     Its backward makes PyTorch's dense [V, 128] weight gradient.
  Conv1D+ReLU        relu(nn.Conv1d(128, 128, 3, padding=1)(x.transpose(1, 2))).transpose(1, 2):
                     strata's Conv1D takes and returns [B, T, F] and does its own layout work
                     (packs the valid rows into one matrix, scatters the result back), so the
                     transposes a PyTorch user with [B, T, F] activations needs are included.
                     "Conv1D+ReLU [B,C,T]" is the same without them (input already [B, C, T]),
                     the bare-kernel reference. The T_max = 64 variants (unequal lengths)
                     also multiply the output by the length mask (strata zeroes padded
                     outputs; a user stacking convolutions must too); the input is zero at
                     padded positions, so the kernel sees zeros past a text's end as strata's.
  LayerNorm          nn.LayerNorm(128) over the whole [B, T, 128] (PyTorch cannot skip rows).
  MeanPool           (x * mask).sum(1) / lengths        (mask [B, T, 1] float, made once)
  MaxPool            x.masked_fill(~mask, -inf).amax(1) (ties share the gradient; with
                     random inputs there are none). "MaxPool max(1).values" is the same
                     through max(dim), which keeps the argmax as strata does (gradient to it)
                     but is ~3x slower forward in PyTorch 1.13.
  LastPool           x[arange(B), lengths - 1]
  GRU                nn.GRU(128, 128, batch_first=True): pack_padded_sequence(x, lengths,
                     batch_first=True, enforce_sorted=False) -> gru -> pad_packed_sequence(...,
                     total_length=T_max): padded [B, T, F] in and out, as strata's GRU.
  GRU bidirectional  nn.GRU(128, 64, bidirectional=True) (bench_gru's GRU<128, 64,
                     bidirectional>: 128 outputs), same packing.
  MultiHeadAttention nn.MultiheadAttention(128, 4, batch_first=True)(x, x, x,
                     key_padding_mask=padded, need_weights=False) (mask passed even when all
                     lengths are full). Training mode, so never PyTorch's inference fast path.
  Linear             nn.Linear(In, Out) at 32x128->128, 256x512->512, 1024x1024->1024, and
                     "GEMM" (x.mm(w.t()), no bias, no_grad) beside bench_linear's eigen_gemm.

Lengths: strata's benches at T = 32 use all lengths 32; the "T_max 64" variants use all 64
("all64") or the exact lengths of the C++ bench ("mean16"; reproduced here, including
strata::Rng's xoshiro256** draws, so both sides see the same batch).

Threads: --threads N (default 1) sets OMP_NUM_THREADS=N in the environment before torch is
imported and torch.set_num_threads(N); OpenBLAS and MKL are held at 1 thread
(OPENBLAS_NUM_THREADS=1, MKL_NUM_THREADS=1, also before the import; the setting of
bench/compare/sentiment_torch.py). Debian's torch calls OpenBLAS (pthreads build) for its
GEMMs, so with this setting the GEMMs of Linear, GRU and attention run on one thread at any
--threads; oneDNN (Conv1d) and ATen's element-wise/reduction kernels use N. --blas-threads K
overrides the BLAS setting to check what that costs.
"""

import os
import sys


def _early_option(argv, name, default):
    """Options that must act before torch is imported (the thread pools read the env)."""
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return default


_THREADS = _early_option(sys.argv[1:], "--threads", "1")
_BLAS_THREADS = _early_option(sys.argv[1:], "--blas-threads", "1")
os.environ["OMP_NUM_THREADS"] = _THREADS
os.environ["OPENBLAS_NUM_THREADS"] = _BLAS_THREADS
os.environ["MKL_NUM_THREADS"] = _BLAS_THREADS

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

BATCH = 32
FEATURES = 128
VOCABULARY = 20000
MASK64 = (1 << 64) - 1


class StrataRng:
    """strata::Rng (include/strata/core/rng.hpp): xoshiro256** seeded through splitmix64.
    Only what the benches' length draws need (below, shuffle)."""

    def __init__(self, seed):
        x = seed & MASK64
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & MASK64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK64

    def next_u64(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def below(self, bound):
        threshold = ((1 << 64) - bound) % bound
        while True:
            value = self.next_u64()
            if value >= threshold:
                return value % bound

    def shuffle(self, values):
        for i in range(len(values), 1, -1):
            j = self.below(i)
            values[i - 1], values[j] = values[j], values[i - 1]


# The lengths of each C++ bench, exactly.
def full_lengths(length):
    return [length] * BATCH


def sequence_layers_short_lengths():
    """bench_sequence_layers.cpp make_lengths(64, true): 1 + Rng(4).below(31) per text."""
    rng = StrataRng(4)
    return [1 + rng.below(31) for _ in range(BATCH)]


def gru_short_lengths():
    """bench_gru.cpp short_lengths(): 1 + (b * 17) % 31, the last one 16."""
    lengths = [1 + (b * 17) % 31 for b in range(BATCH)]
    lengths[31] = 16
    return lengths


def attention_short_lengths():
    """bench_attention.cpp short_lengths(): 1 + b * 30 / 31, shuffled by Rng(5)."""
    lengths = [1 + (b * 30) // (BATCH - 1) for b in range(BATCH)]
    StrataRng(5).shuffle(lengths)
    return lengths


class Batch:
    """Everything made once per measurement: lengths, masks, input, upstream gradient."""

    def __init__(self, lengths, t_max, in_features=FEATURES, seed=0):
        gen = torch.Generator().manual_seed(seed)
        self.t_max = t_max
        self.lengths_list = lengths
        self.lengths = torch.tensor(lengths, dtype=torch.int64)
        steps = torch.arange(t_max)
        self.valid = steps[None, :] < self.lengths[:, None]  # [B, T] bool
        self.padded = ~self.valid  # key_padding_mask
        self.mask = self.valid.unsqueeze(-1).to(torch.float32)  # [B, T, 1]
        self.lengths_f = self.lengths.to(torch.float32).unsqueeze(-1)  # [B, 1]
        self.last_index = self.lengths - 1
        self.rows = torch.arange(len(lengths))
        self.x = torch.randn(len(lengths), t_max, in_features, generator=gen) * self.mask
        self.gen = gen

    def upstream(self, shape, masked=True):
        g = torch.randn(*shape, generator=self.gen)
        if masked and len(shape) == 3:
            g = g * self.mask
        return g


# ---------------------------------------------------------------------------------------
# Timing


def time_calls(fn, warmup, min_time, min_reps, max_reps):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_reps:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= min_reps and time.perf_counter() - start >= min_time:
            break
    return statistics.median(times) * 1e6, len(times)


# ---------------------------------------------------------------------------------------
# The measurements. Each returns {mode: callable}; the callable runs one call.


def make_modes(module, forward, x, g, params_zero=None):
    """forward(x) -> out. Returns forward (no_grad) and forward+backward callables."""

    def fwd():
        with torch.no_grad():
            forward(x)

    xg = x.detach().clone().requires_grad_(x.is_floating_point())

    def fwd_bwd():
        if module is not None:
            module.zero_grad(set_to_none=True)
        if xg.requires_grad:
            xg.grad = None
        out = forward(xg)
        out.backward(g)

    return {"forward": fwd, "forward+backward": fwd_bwd}


def embedding_case(lengths, t_max):
    b = Batch(lengths, t_max)
    emb = nn.Embedding(VOCABULARY, FEATURES, padding_idx=0)
    emb.train()
    ids = torch.randint(1, VOCABULARY, (BATCH, t_max), generator=b.gen) * b.valid
    g = b.upstream((BATCH, t_max, FEATURES))
    return make_modes(emb, emb, ids, g)


def conv_case(lengths, t_max, transposes=True, mask_output=False):
    b = Batch(lengths, t_max)
    conv = nn.Conv1d(FEATURES, FEATURES, 3, padding=1)
    conv.train()
    relu = torch.relu
    mask = b.mask
    if transposes:
        x = b.x  # [B, T, C]

        def forward(inp):
            out = relu(conv(inp.transpose(1, 2))).transpose(1, 2)
            return out * mask if mask_output else out

        g = b.upstream((BATCH, t_max, FEATURES))
    else:
        x = b.x.transpose(1, 2).contiguous()  # [B, C, T], made once
        mask_ct = mask.transpose(1, 2)

        def forward(inp):
            out = relu(conv(inp))
            return out * mask_ct if mask_output else out

        g = b.upstream((BATCH, t_max, FEATURES)).transpose(1, 2).contiguous()
    return make_modes(conv, forward, x, g)


def layer_norm_case(lengths, t_max):
    b = Batch(lengths, t_max)
    ln = nn.LayerNorm(FEATURES)
    ln.train()
    return make_modes(ln, ln, b.x, b.upstream((BATCH, t_max, FEATURES)))


def pool_case(kind):
    b = Batch(full_lengths(32), 32)
    mask, lengths_f, valid = b.mask, b.lengths_f, b.valid.unsqueeze(-1)
    rows, last = b.rows, b.last_index
    if kind == "mean":

        def forward(x):
            return (x * mask).sum(1) / lengths_f

    elif kind == "max":

        def forward(x):
            return x.masked_fill(~valid, float("-inf")).amax(1)

    elif kind == "max-indices":

        def forward(x):
            return x.masked_fill(~valid, float("-inf")).max(1).values

    else:

        def forward(x):
            return x[rows, last]

    return make_modes(None, forward, b.x, b.upstream((BATCH, FEATURES)))


def gru_case(lengths, t_max, bidirectional=False):
    b = Batch(lengths, t_max)
    hidden = FEATURES // 2 if bidirectional else FEATURES
    gru = nn.GRU(FEATURES, hidden, batch_first=True, bidirectional=bidirectional)
    gru.train()
    lengths_cpu = b.lengths

    def forward(x):
        packed = pack_padded_sequence(x, lengths_cpu, batch_first=True, enforce_sorted=False)
        out, _ = gru(packed)
        padded, _ = pad_packed_sequence(out, batch_first=True, total_length=t_max)
        return padded

    return make_modes(gru, forward, b.x, b.upstream((BATCH, t_max, FEATURES)))


def attention_case(lengths, t_max):
    b = Batch(lengths, t_max)
    mha = nn.MultiheadAttention(FEATURES, 4, batch_first=True)
    mha.train()
    padded = b.padded

    def forward(x):
        return mha(x, x, x, key_padding_mask=padded, need_weights=False)[0]

    return make_modes(mha, forward, b.x, b.upstream((BATCH, t_max, FEATURES)))


def linear_case(batch, n_in, n_out):
    gen = torch.Generator().manual_seed(0)
    lin = nn.Linear(n_in, n_out)
    lin.train()
    x = torch.randn(batch, n_in, generator=gen)
    g = torch.randn(batch, n_out, generator=gen)
    modes = make_modes(lin, lin, x, g)
    xg = x.clone().requires_grad_(True)
    out = lin(xg)  # the one forward before the loop, as linear_backward

    def bwd():
        lin.zero_grad(set_to_none=True)
        xg.grad = None
        out.backward(g, retain_graph=True)

    modes["backward"] = bwd
    return modes


def gemm_case(batch, n_in, n_out):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, n_in, generator=gen)
    w = torch.randn(n_out, n_in, generator=gen)

    def fwd():
        with torch.no_grad():
            x.mm(w.t())

    return {"forward": fwd}


def cases():
    """(layer name, builder) in bench order. Builders run lazily (only when selected)."""
    short_seq = sequence_layers_short_lengths()
    out = [
        ("Embedding", lambda: embedding_case(full_lengths(32), 32)),
        ("Embedding T_max64 all64", lambda: embedding_case(full_lengths(64), 64)),
        ("Embedding T_max64 mean16", lambda: embedding_case(short_seq, 64)),
        ("Conv1D+ReLU", lambda: conv_case(full_lengths(32), 32)),
        ("Conv1D+ReLU [B,C,T]", lambda: conv_case(full_lengths(32), 32, transposes=False)),
        ("Conv1D+ReLU T_max64 all64", lambda: conv_case(full_lengths(64), 64, mask_output=True)),
        ("Conv1D+ReLU T_max64 mean16", lambda: conv_case(short_seq, 64, mask_output=True)),
        ("LayerNorm", lambda: layer_norm_case(full_lengths(32), 32)),
        ("LayerNorm T_max64 all64", lambda: layer_norm_case(full_lengths(64), 64)),
        ("LayerNorm T_max64 mean16", lambda: layer_norm_case(short_seq, 64)),
        ("MeanPool", lambda: pool_case("mean")),
        ("MaxPool", lambda: pool_case("max")),
        ("MaxPool max(1).values", lambda: pool_case("max-indices")),
        ("LastPool", lambda: pool_case("last")),
        ("GRU", lambda: gru_case(full_lengths(32), 32)),
        ("GRU bidirectional", lambda: gru_case(full_lengths(32), 32, bidirectional=True)),
        ("GRU T_max64 all64", lambda: gru_case(full_lengths(64), 64)),
        ("GRU T_max64 mean16", lambda: gru_case(gru_short_lengths(), 64)),
        ("MultiHeadAttention", lambda: attention_case(full_lengths(32), 32)),
        ("MultiHeadAttention T_max64 all64", lambda: attention_case(full_lengths(64), 64)),
        ("MultiHeadAttention T_max64 mean16", lambda: attention_case(attention_short_lengths(), 64)),
    ]
    for batch, n_in, n_out in ((32, 128, 128), (256, 512, 512), (1024, 1024, 1024)):
        size = f"{batch}x{n_in}->{n_out}"
        out.append((f"Linear {size}", lambda a=(batch, n_in, n_out): linear_case(*a)))
        out.append((f"GEMM {size}", lambda a=(batch, n_in, n_out): gemm_case(*a)))
    return out


def print_table(rows):
    width = max(len(r["layer"]) for r in rows) if rows else 10
    print(f"{'layer':<{width}}  {'mode':<16}  {'threads':>7}  {'median µs':>11}  {'reps':>6}")
    print("-" * (width + 48))
    for r in rows:
        print(f"{r['layer']:<{width}}  {r['mode']:<16}  {r['threads']:>7}  {r['median_us']:>11.1f}  {r['reps']:>6}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads / OMP_NUM_THREADS")
    parser.add_argument("--blas-threads", type=int, default=1, help="OPENBLAS/MKL_NUM_THREADS (default 1)")
    parser.add_argument("--filter", default="", help="regex on 'layer mode' (e.g. 'GRU|Attention')")
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds of timed calls per measurement")
    parser.add_argument("--min-reps", type=int, default=20, help="at least this many timed calls")
    parser.add_argument("--max-reps", type=int, default=100000, help="at most this many timed calls")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls first")
    parser.add_argument("--table", action="store_true", help="a readable table instead of JSON lines")
    parser.add_argument("--list", action="store_true", help="list the measurements and exit")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    pattern = re.compile(args.filter) if args.filter else None

    rows = []
    for layer, build in cases():
        modes = None
        for mode in ("forward", "forward+backward", "backward"):
            if pattern and not pattern.search(f"{layer} {mode}"):
                continue
            if modes is None:
                modes = build()
            if mode not in modes:
                continue
            if args.list:
                print(json.dumps({"layer": layer, "mode": mode}))
                continue
            median_us, reps = time_calls(modes[mode], args.warmup, args.min_time, args.min_reps, args.max_reps)
            row = {"layer": layer, "mode": mode, "threads": args.threads, "median_us": round(median_us, 2),
                   "reps": reps, "torch": torch.__version__}
            rows.append(row)
            if not args.table:
                print(json.dumps(row), flush=True)
    if args.table and not args.list:
        print_table(rows)


if __name__ == "__main__":
    main()
