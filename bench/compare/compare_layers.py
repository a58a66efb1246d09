#!/usr/bin/python3
"""strata's layer benchmarks against the same layers in PyTorch, one command:

    /usr/bin/python3 bench/compare/compare_layers.py --build build [--threads 1,2] [--rounds 3]
        [--filter REGEX] [--min-time 0.05] [--torch-min-time 0.1] [--torch-min-reps 5]
        [--json FILE] [--mapping]

Needs the four Google Benchmark programs built in BUILD/bench/:

    cmake -S . -B build -G Ninja -DSTRATA_BUILD_BENCHMARKS=ON
    cmake --build build --target bench_gru bench_attention bench_sequence_layers bench_linear

For each round and each thread count N it runs strata (A: every bench binary with
--benchmark_format=json, --benchmark_filter, --benchmark_min_time and OMP_NUM_THREADS=N)
then PyTorch (B: bench/compare/layers_torch.py --threads N, which sets torch.set_num_threads(N),
OMP_NUM_THREADS=N and holds OpenBLAS/MKL at 1 thread), so A B A B … and the two sides see the
same drift of the machine's load. Each strata benchmark is paired with its PyTorch
measurement through MAPPING below (strata's names are read from the JSON output; strata's
time is Google Benchmark's real_time per iteration). The table gives, per pair, the median
over rounds of each side's per-call time in µs and the ratio PyTorch / strata (> 1: strata is
faster). The machine's load average (os.getloadavg()) is printed at the start and the end:
on a busy machine, and above all with 2 threads, figures are not worth comparing.

--filter REGEX selects pairs whose strata name or PyTorch layer matches (re.search).
--json FILE writes every round's raw figures. --mapping prints the pairing table and exits.
The defaults (3 rounds, threads 1 and 2) take about 2-3 minutes on a quiet 2-core machine.
"""

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_info import build_info, git_head, warn_if_reference_blas  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TORCH_SCRIPT = os.path.join(HERE, "layers_torch.py")

FWD, FWDBWD, BWD = "forward", "forward+backward", "backward"

# (bench binary, strata benchmark name as in its JSON, PyTorch layer in layers_torch.py, mode)
MAPPING = [
    ("bench_sequence_layers", "BM_Embedding_Forward", "Embedding", FWD),
    ("bench_sequence_layers", "BM_Embedding_ForwardBackward", "Embedding", FWDBWD),
    ("bench_sequence_layers", "BM_Embedding_Lengths/0", "Embedding T_max64 all64", FWDBWD),
    ("bench_sequence_layers", "BM_Embedding_Lengths/1", "Embedding T_max64 mean16", FWDBWD),
    ("bench_sequence_layers", "BM_Conv1D_Forward", "Conv1D+ReLU", FWD),
    ("bench_sequence_layers", "BM_Conv1D_Forward", "Conv1D+ReLU [B,C,T]", FWD),
    ("bench_sequence_layers", "BM_Conv1D_ForwardBackward", "Conv1D+ReLU", FWDBWD),
    ("bench_sequence_layers", "BM_Conv1D_ForwardBackward", "Conv1D+ReLU [B,C,T]", FWDBWD),
    ("bench_sequence_layers", "BM_Conv1D_Lengths/0", "Conv1D+ReLU T_max64 all64", FWDBWD),
    ("bench_sequence_layers", "BM_Conv1D_Lengths/1", "Conv1D+ReLU T_max64 mean16", FWDBWD),
    ("bench_sequence_layers", "BM_LayerNorm_Forward", "LayerNorm", FWD),
    ("bench_sequence_layers", "BM_LayerNorm_ForwardBackward", "LayerNorm", FWDBWD),
    ("bench_sequence_layers", "BM_LayerNorm_Lengths/0", "LayerNorm T_max64 all64", FWDBWD),
    ("bench_sequence_layers", "BM_LayerNorm_Lengths/1", "LayerNorm T_max64 mean16", FWDBWD),
    ("bench_sequence_layers", "BM_Pool_Forward<MeanPool>", "MeanPool", FWD),
    ("bench_sequence_layers", "BM_Pool_ForwardBackward<MeanPool>", "MeanPool", FWDBWD),
    ("bench_sequence_layers", "BM_Pool_Forward<MaxPool>", "MaxPool", FWD),
    ("bench_sequence_layers", "BM_Pool_Forward<MaxPool>", "MaxPool max(1).values", FWD),
    ("bench_sequence_layers", "BM_Pool_ForwardBackward<MaxPool>", "MaxPool", FWDBWD),
    ("bench_sequence_layers", "BM_Pool_ForwardBackward<MaxPool>", "MaxPool max(1).values", FWDBWD),
    ("bench_sequence_layers", "BM_Pool_Forward<LastPool>", "LastPool", FWD),
    ("bench_sequence_layers", "BM_Pool_ForwardBackward<LastPool>", "LastPool", FWDBWD),
    ("bench_gru", "BM_GRU_forward/real_time", "GRU", FWD),
    ("bench_gru", "BM_GRU_forward_backward/real_time", "GRU", FWDBWD),
    ("bench_gru", "BM_GRU_bidirectional_forward/real_time", "GRU bidirectional", FWD),
    ("bench_gru", "BM_GRU_bidirectional_forward_backward/real_time", "GRU bidirectional", FWDBWD),
    ("bench_gru", "BM_GRU_Tmax64_all64_forward_backward/real_time", "GRU T_max64 all64", FWDBWD),
    ("bench_gru", "BM_GRU_Tmax64_mean16_forward_backward/real_time", "GRU T_max64 mean16", FWDBWD),
    ("bench_attention", "BM_Attention_Forward_B32_T32", "MultiHeadAttention", FWD),
    ("bench_attention", "BM_Attention_ForwardBackward_B32_T32", "MultiHeadAttention", FWDBWD),
    ("bench_attention", "BM_Attention_Forward_Tmax64_all64", "MultiHeadAttention T_max64 all64", FWD),
    ("bench_attention", "BM_Attention_Forward_Tmax64_mean16", "MultiHeadAttention T_max64 mean16", FWD),
    ("bench_attention", "BM_Attention_ForwardBackward_Tmax64_all64", "MultiHeadAttention T_max64 all64", FWDBWD),
    ("bench_attention", "BM_Attention_ForwardBackward_Tmax64_mean16", "MultiHeadAttention T_max64 mean16", FWDBWD),
]
for _b, _i, _o in ((32, 128, 128), (256, 512, 512), (1024, 1024, 1024)):
    _size = f"{_b}x{_i}->{_o}"
    MAPPING += [
        ("bench_linear", f"linear_forward<{_b}, {_i}, {_o}>/real_time", f"Linear {_size}", FWD),
        # linear_backward times the backward alone (its forward runs once before the loop).
        ("bench_linear", f"linear_backward<{_b}, {_i}, {_o}>/real_time", f"Linear {_size}", BWD),
        ("bench_linear", f"eigen_gemm<{_b}, {_i}, {_o}>/real_time", f"GEMM {_size}", FWD),
    ]

TORCH_VERSION = ["?"]
TO_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def safe_prefix(name):
    """The part of a benchmark name that needs no regex escaping (Google Benchmark's filter is
    a POSIX regex, where '\\<' would be a word anchor): up to the first '<', '/', ',' or ' '."""
    return re.split(r"[</, ]", name, maxsplit=1)[0]


def run_strata(build, binary, names, threads, min_time):
    path = os.path.join(build, "bench", binary)
    prefixes = sorted({safe_prefix(n) for n in names})
    cmd = [path, "--benchmark_format=json", f"--benchmark_min_time={min_time}",
           "--benchmark_filter=^(" + "|".join(prefixes) + ")"]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    results = {}
    for bench in json.loads(proc.stdout)["benchmarks"]:
        if bench.get("run_type", "iteration") != "iteration" or bench.get("error_occurred"):
            continue
        if bench["name"] in names:
            results[bench["name"]] = bench["real_time"] * TO_US[bench.get("time_unit", "ns")]
    return results


def run_torch(pairs, threads, min_time, min_reps, warmup):
    wanted = sorted({f"{layer} {mode}" for layer, mode in pairs})
    pattern = "^(?:" + "|".join(re.escape(w) for w in wanted) + ")$"
    cmd = [sys.executable, TORCH_SCRIPT, "--threads", str(threads), "--filter", pattern,
           "--min-time", str(min_time), "--min-reps", str(min_reps), "--warmup", str(warmup)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"layers_torch.py failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            results[(row["layer"], row["mode"])] = row["median_us"]
            TORCH_VERSION[0] = row.get("torch", TORCH_VERSION[0])
    return results


def load():
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def fmt_us(value):
    if value is None:
        return "—"
    return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build", help="CMake build folder holding bench/bench_* (default build)")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--rounds", type=int, default=3, help="A B rounds per thread count (default 3)")
    parser.add_argument("--filter", default="", help="regex on the strata name or the PyTorch layer")
    parser.add_argument("--min-time", type=float, default=0.05, help="--benchmark_min_time (s) for strata")
    parser.add_argument("--torch-min-time", type=float, default=0.1, help="layers_torch.py --min-time (s)")
    parser.add_argument("--torch-min-reps", type=int, default=5, help="layers_torch.py --min-reps")
    parser.add_argument("--torch-warmup", type=int, default=3, help="layers_torch.py --warmup")
    parser.add_argument("--json", help="write every round's figures to this file")
    parser.add_argument("--mapping", action="store_true", help="print the pairing table and exit")
    args = parser.parse_args()

    pattern = re.compile(args.filter) if args.filter else None
    pairs = [m for m in MAPPING if not pattern or pattern.search(m[1]) or pattern.search(m[2])]
    if not pairs:
        sys.exit("--filter matches no pair (see --mapping)")
    if args.mapping:
        print("| strata benchmark (binary) | PyTorch (layers_torch.py) | mode |\n| --- | --- | --- |")
        for binary, name, layer, mode in pairs:
            print(f"| `{name}` ({binary}) | {layer} | {mode} |")
        return
    threads_list = [int(t) for t in args.threads.split(",") if t.strip()]
    if args.rounds < 1:
        sys.exit("--rounds must be at least 1")
    binaries = {}
    for binary, name, _, _ in pairs:
        binaries.setdefault(binary, set()).add(name)
    for binary in binaries:
        if not os.access(os.path.join(args.build, "bench", binary), os.X_OK):
            sys.exit(f"{args.build}/bench/{binary} not found: cmake --build {args.build} --target "
                     "bench_gru bench_attention bench_sequence_layers bench_linear")
    torch_pairs = sorted({(layer, mode) for _, _, layer, mode in pairs})
    if build_info(args.build).get("STRATA_NATIVE", "OFF").upper() in ("OFF", "0", "FALSE", "NO"):
        print(f"note: {args.build} is not a -DSTRATA_NATIVE=ON build: its GEMMs still "
              "pick strata's AVX2 kernels at run time, but its other loops are SSE2 only", file=sys.stderr)
    blas = warn_if_reference_blas(sys.stderr)

    start_load, started = load(), time.time()
    start_stamp = datetime.datetime.now().isoformat(timespec="seconds")
    print(f"compare_layers: {len(pairs)} pairs, threads {threads_list}, {args.rounds} rounds, "
          f"load at start {start_load}", file=sys.stderr, flush=True)
    strata_runs = {t: [] for t in threads_list}
    torch_runs = {t: [] for t in threads_list}
    for r in range(args.rounds):
        for t in threads_list:
            t0 = time.time()
            got = {}
            for binary, names in binaries.items():
                got.update(run_strata(args.build, binary, names, t, args.min_time))
            strata_runs[t].append(got)
            t1 = time.time()
            torch_runs[t].append(run_torch(torch_pairs, t, args.torch_min_time, args.torch_min_reps,
                                           args.torch_warmup))
            print(f"  round {r + 1}/{args.rounds}, {t} thread(s): strata {t1 - t0:.0f} s, "
                  f"PyTorch {time.time() - t1:.0f} s, load {load()}", file=sys.stderr, flush=True)
    end_load = load()

    def median_of(runs, key):
        values = [run[key] for run in runs if key in run]
        return statistics.median(values) if values else None

    rows = []
    for t in threads_list:
        for binary, name, layer, mode in pairs:
            s = median_of(strata_runs[t], name)
            p = median_of(torch_runs[t], (layer, mode))
            rows.append({"strata_benchmark": name, "binary": binary, "layer": layer, "mode": mode, "threads": t,
                         "strata_us": s, "torch_us": p, "ratio": (p / s) if s and p else None})

    info = build_info(args.build)
    print(f"strata vs PyTorch {TORCH_VERSION[0]} layers — "
          f"started {start_stamp}, strata {git_head()} "
          f"({info.get('CMAKE_BUILD_TYPE', '?')}, STRATA_NATIVE={info.get('STRATA_NATIVE', '?')}), "
          f"{os.cpu_count()} CPUs, {args.rounds} rounds; PyTorch's BLAS: {blas}")
    print(f"load average (1/5/15 min) at start {start_load}, at end {end_load}; "
          f"{time.time() - started:.0f} s in all")
    print()
    print("| layer | mode | threads | strata median µs | PyTorch median µs | ratio (PyTorch / strata) |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "—"
        print(f"| {row['layer']} | {row['mode']} | {row['threads']} | {fmt_us(row['strata_us'])} | "
              f"{fmt_us(row['torch_us'])} | {ratio} |")
    print()
    print("ratio > 1: strata is faster. Medians over rounds of per-call wall time; strata = Google "
          "Benchmark real_time, PyTorch = median of time.perf_counter per call (layers_torch.py).")

    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"load_start": start_load, "load_end": end_load, "git": git_head(), "build": info,
                       "rows": rows,
                       "rounds": {str(t): {"strata": strata_runs[t],
                                           "torch": [{f"{k[0]} | {k[1]}": v for k, v in run.items()}
                                                     for run in torch_runs[t]]}
                                  for t in threads_list}}, out, indent=1)


if __name__ == "__main__":
    main()
