#!/usr/bin/python3
"""strata's sentiment program against the same classifier in PyTorch, one command:

    /usr/bin/python3 bench/compare/compare_sentiment.py --build build/native [--threads 2]
        [--rounds 3] [--data ../shared/data/tweet_sentiment] [--skip-full-run] [--json FILE]
        [--workdir DIR]

Needs the `sentiment` example built (natively, for a fair speed comparison):

    cmake -S . -B build/native -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTRATA_NATIVE=ON \\
          -DSTRATA_BUILD_TESTS=OFF
    cmake --build build/native --target sentiment

and Debian's python3-torch for bench/compare/sentiment_torch.py (the PyTorch side), plus GNU
time (/usr/bin/time, Debian package `time`) for the whole-run figures.

Setup (untimed): each side trains a one-epoch spec-recipe seed-protocol model (seed 1), the
model the inference figures run (weights do not change their speed). Then, per round, each
figure is measured strata first, PyTorch second (A B A B ...), at the same thread count T:
strata with `--threads T`, PyTorch with sentiment_torch.py `--threads T` (torch intra-op
threads = T, OpenBLAS/MKL held at 1: its fastest setting here).

 1. one seed-protocol training epoch (spec recipe, seed 1, batch 32, 2,827 tweets):
    strata `train --epochs 1` -> the JSON's train_seconds; PyTorch `epoch-time --seed 1` ->
    epoch_seconds. Both: the epoch's training loop only (batch gathering, forward, loss,
    backward, clipping, Adam step); data loading, tokenizing, the vocabulary, model set-up
    and validation excluded.
 2. a whole 5-epoch seed-protocol run as a process (`--skip-full-run` skips it): the wall time
    of `sentiment train --recipe spec --protocol seed --seed 1 --out F` against
    `sentiment_torch.py train --protocol seed --seed 1 --out F`, under `/usr/bin/time -v`
    (process start to exit: start-up, interpreter and torch import on PyTorch's side, data,
    5 epochs, 5 validations, checkpoint writes). Also each side's own sum of the 5 epochs'
    training times, and the peak resident memory ("Maximum resident set size").
 3. batch-1 latency of the first 20-token text of test.csv: `sentiment bench latency` against
    `sentiment_torch.py latency` (torch.jit.script, inference_mode): median of 2,000 calls
    after warm-up, ids in, probabilities out; and the same with tokenizing and encoding.
 4. batch-256 inference throughput over test.csv and over train.csv in file order, texts
    tokenized beforehand: `sentiment bench throughput` against `sentiment_torch.py throughput`
    (eager, inference_mode, softmax included); median of 3 passes after a warm-up.

The table gives the median over rounds of each side and a ratio oriented so that > 1 means
strata is better (PyTorch time / strata time; strata rate / PyTorch rate; PyTorch memory /
strata memory). The load average is printed at the start and the end, with the CPU model,
the thread count and every command run (rerun any one by hand from the repository root).
On a loaded machine 2-thread figures are not worth comparing (spinning OpenMP barriers on
both sides). Defaults (3 rounds, full run included) take about 3-4 minutes on a quiet 2-core
machine; `--skip-full-run` about half that. `--json FILE` writes every round's raw figures.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_info import build_info, git_head, warn_if_reference_blas  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TORCH_SCRIPT = os.path.join(HERE, "sentiment_torch.py")
GNU_TIME = "/usr/bin/time"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def shown(path):
    """A path as the commands print it: relative to the repository root when inside or beside it."""
    rel = os.path.relpath(path, REPO)
    return rel if not rel.startswith("../../") else path


def load():
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def cpu_info():
    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model == "unknown":
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "amx_tile") if f in flags]
    return model, simd


def torch_version():
    try:
        return subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


class Runner:
    """Runs commands from the repository root, records each distinct command line once."""

    def __init__(self, verbose):
        self.commands = []
        self.verbose = verbose

    def record(self, label, argv):
        line = " ".join(shlex.quote(a) for a in argv)
        if (label, line) not in self.commands:
            self.commands.append((label, line))
        return line

    def run(self, label, argv):
        line = self.record(label, argv)
        if self.verbose:
            print(f"    $ {line}", file=sys.stderr, flush=True)
        proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"command failed ({proc.returncode}): {line}\n{proc.stdout[-1500:]}\n{proc.stderr[-2500:]}")
        return proc.stdout

    def run_timed(self, label, argv, time_file):
        """argv under /usr/bin/time -v (-o time_file); returns (stdout, wall s, peak RSS MiB)."""
        shown_argv = [GNU_TIME, "-v"] + argv
        line = self.record(label, shown_argv)
        if self.verbose:
            print(f"    $ {line}", file=sys.stderr, flush=True)
        proc = subprocess.run([GNU_TIME, "-v", "-o", time_file] + argv, cwd=REPO, capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"command failed ({proc.returncode}): {line}\n{proc.stdout[-1500:]}\n{proc.stderr[-2500:]}")
        with open(time_file, encoding="utf-8") as f:
            report = f.read()
        return (proc.stdout,) + parse_gnu_time(report)


def parse_gnu_time(report):
    """(wall seconds, peak RSS in MiB) from `/usr/bin/time -v` output."""
    wall = rss = None
    for line in report.splitlines():
        line = line.strip()
        if line.startswith("Elapsed (wall clock) time"):
            value = line.rsplit(" ", 1)[1]              # h:mm:ss or m:ss(.ss)
            seconds = 0.0
            for part in value.split(":"):
                seconds = seconds * 60 + float(part)
            wall = seconds
        elif line.startswith("Maximum resident set size (kbytes):"):
            rss = int(line.rsplit(":", 1)[1]) / 1024.0
    if wall is None or rss is None:
        sys.exit("could not read /usr/bin/time -v output:\n" + report[-1500:])
    return wall, rss


def last_json(stdout, what):
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    sys.exit(f"{what}: no JSON line in its output:\n{stdout[-1500:]}")


EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+) .*?([0-9.]+) s\s+([0-9.]+) tweets/s", re.M)


def strata_epoch_rates(stdout):
    """Training-only tweets/s of each epoch line of `sentiment train`."""
    return [float(m.group(4)) for m in EPOCH_LINE.finditer(stdout)]


# --------------------------------------------------------------------------
# the figures
# --------------------------------------------------------------------------
class Figure:
    def __init__(self, key, title, unit, higher_is_better, fmt):
        self.key, self.title, self.unit = key, title, unit
        self.higher_is_better, self.fmt = higher_is_better, fmt
        self.strata, self.torch = [], []

    def median(self, side):
        values = getattr(self, side)
        return statistics.median(values) if values else None

    def ratio(self):
        s, p = self.median("strata"), self.median("torch")
        if not s or not p:
            return None
        return s / p if self.higher_is_better else p / s


def fmt_seconds(v):
    return f"{v:.2f} s" if v < 100 else f"{v:.0f} s"


def fmt_us(v):
    return f"{v:,.0f} µs" if v >= 100 else f"{v:.1f} µs"


def fmt_rate(v):
    return f"{v:,.0f} tweets/s"


def fmt_mib(v):
    return f"{v:,.0f} MiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build/native",
                        help="CMake build folder holding examples/sentiment/sentiment (default build/native)")
    parser.add_argument("--threads", type=int, default=2, help="threads on both sides (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="A B rounds (default 3)")
    parser.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "tweet_sentiment"),
                        help="folder with train.csv and test.csv (default ../shared/data/tweet_sentiment "
                             "beside the repository)")
    parser.add_argument("--skip-full-run", action="store_true",
                        help="skip figure 2 (whole 5-epoch runs) and the peak-memory figure")
    parser.add_argument("--json", help="write every round's raw figures to this file")
    parser.add_argument("--workdir", help="keep the models and time reports here (default: a temporary "
                                          "folder, removed at the end)")
    parser.add_argument("--verbose", action="store_true", help="print each command as it runs")
    args = parser.parse_args()
    if args.rounds < 1:
        sys.exit("--rounds must be at least 1")
    if args.threads < 1:
        sys.exit("--threads must be at least 1")

    build = os.path.abspath(args.build)
    data = os.path.abspath(args.data)
    json_out = os.path.abspath(args.json) if args.json else None
    sentiment = os.path.join(build, "examples", "sentiment", "sentiment")
    if not os.access(sentiment, os.X_OK):
        sys.exit(f"{sentiment} not found: cmake -S . -B {shown(build)} -G Ninja -DCMAKE_BUILD_TYPE=Release "
                 f"-DSTRATA_NATIVE=ON -DSTRATA_BUILD_TESTS=OFF && cmake --build {shown(build)} --target sentiment")
    for name in ("train.csv", "test.csv"):
        if not os.path.isfile(os.path.join(data, name)):
            sys.exit(f"--data {data}: no {name} there")
    if not args.skip_full_run and not os.access(GNU_TIME, os.X_OK):
        sys.exit(f"{GNU_TIME} not found (GNU time): apt-get install time, or pass --skip-full-run")
    info = build_info(build)
    if info.get("STRATA_NATIVE", "OFF").upper() in ("OFF", "0", "FALSE", "NO", ""):
        print(f"note: {shown(build)} is not a -DSTRATA_NATIVE=ON build: its GEMMs still "
              "pick strata's AVX2 kernels at run time, but its other loops are SSE2 only", file=sys.stderr)

    workdir = os.path.abspath(args.workdir) if args.workdir else tempfile.mkdtemp(prefix="compare_sentiment_")
    os.makedirs(workdir, exist_ok=True)
    T = str(args.threads)
    S, D, W = shown(sentiment), shown(data), shown(workdir)
    P = [sys.executable, shown(TORCH_SCRIPT), "--threads", T, "--data", D]
    test_csv, train_csv = os.path.join(D, "test.csv"), os.path.join(D, "train.csv")
    strata_model = os.path.join(W, "strata_epoch1.safetensors")
    torch_model = os.path.join(W, "torch_epoch1.safetensors")
    strata_train = [S, "train", "--data", D, "--recipe", "spec", "--protocol", "seed", "--seed", "1",
                    "--threads", T, "--quiet"]
    torch_train = P + ["train", "--protocol", "seed", "--seed", "1"]

    runner = Runner(args.verbose)
    cpu_model, simd = cpu_info()
    blas = warn_if_reference_blas(sys.stderr)
    tv = torch_version()
    start_load, started = load(), time.time()
    start_stamp = datetime.datetime.now().isoformat(timespec="seconds")
    print(f"compare_sentiment: threads {T}, {args.rounds} round(s), full run "
          f"{'skipped' if args.skip_full_run else 'included'}, load at start {start_load}",
          file=sys.stderr, flush=True)

    # ---- setup: one 1-epoch spec model per side (untimed) --------------------------------
    runner.run("setup: strata 1-epoch model", strata_train + ["--epochs", "1", "--out", strata_model])
    runner.run("setup: PyTorch 1-epoch model", torch_train + ["--epochs", "1", "--out", torch_model])

    figures = {}

    def figure(key, *rest):
        figures[key] = Figure(key, *rest)
        return figures[key]

    epoch = figure("epoch_seconds", "one seed-protocol training epoch (2,827 tweets, batch 32), "
                   "training loop only", "s", False, fmt_seconds)
    if not args.skip_full_run:
        full_wall = figure("full_run_wall_seconds", "whole 5-epoch seed-protocol run, process wall time "
                           "(`/usr/bin/time`)", "s", False, fmt_seconds)
        full_train = figure("full_run_train_seconds", "… of which the 5 epochs' training loops "
                            "(each side's own clock)", "s", False, fmt_seconds)
        full_rss = figure("full_run_peak_rss_mib", "peak resident memory of that run "
                          "(`/usr/bin/time` max RSS)", "MiB", False, fmt_mib)
    latency = figure("latency_us", "batch-1 latency, one 20-token text (ids in, probabilities out)",
                     "µs", False, fmt_us)
    latency_tok = figure("latency_with_tokenize_us", "… with tokenizing and encoding", "µs", False, fmt_us)
    tp_test = figure("throughput_test", "batch-256 inference over test.csv (3,534 tweets)", "tweets/s",
                     True, fmt_rate)
    tp_train = figure("throughput_train", "batch-256 inference over train.csv (27,480 tweets)", "tweets/s",
                      True, fmt_rate)
    extras = {"strata_epoch_line_tweets_per_second": [], "torch_epoch_tweets_per_second": [],
              "strata_full_run_json": [], "torch_full_run_json": [], "torch_scripted": []}

    for r in range(args.rounds):
        t0 = time.time()
        # 1. one training epoch
        out = runner.run("1. strata: one epoch", strata_train + ["--epochs", "1", "--out",
                                                                  os.path.join(W, "strata_epoch_timing.safetensors")])
        epoch.strata.append(last_json(out, "sentiment train")["train_seconds"])
        extras["strata_epoch_line_tweets_per_second"] += strata_epoch_rates(out)
        res = last_json(runner.run("1. PyTorch: one epoch", P + ["epoch-time", "--seed", "1"]), "epoch-time")
        epoch.torch.append(res["epoch_seconds"])
        extras["torch_epoch_tweets_per_second"].append(res["tweets_per_second"])
        # 2. a whole 5-epoch run as a process
        if not args.skip_full_run:
            out, wall, rss = runner.run_timed("2. strata: whole 5-epoch run",
                                              strata_train + ["--out", os.path.join(W, "strata_full.safetensors")],
                                              os.path.join(workdir, "time_strata.txt"))
            res = last_json(out, "sentiment train")
            full_wall.strata.append(wall)
            full_rss.strata.append(rss)
            full_train.strata.append(res["train_seconds"])
            extras["strata_full_run_json"].append(res)
            out, wall, rss = runner.run_timed("2. PyTorch: whole 5-epoch run",
                                              torch_train + ["--out", os.path.join(W, "torch_full.safetensors")],
                                              os.path.join(workdir, "time_torch.txt"))
            res = last_json(out, "sentiment_torch.py train")
            full_wall.torch.append(wall)
            full_rss.torch.append(rss)
            full_train.torch.append(sum(res["epoch_seconds"]))
            extras["torch_full_run_json"].append(res)
        # 3. batch-1 latency
        res = last_json(runner.run("3. strata: latency", [S, "bench", "latency", "--model", strata_model,
                                                          "--data", test_csv, "--threads", T]), "bench latency")
        latency.strata.append(res["median_us"])
        latency_tok.strata.append(res["median_us_with_tokenize"])
        res = last_json(runner.run("3. PyTorch: latency", P + ["latency", "--model", torch_model]), "latency")
        latency.torch.append(res["median_us"])
        latency_tok.torch.append(res["median_us_with_tokenize"])
        extras["torch_scripted"].append(res.get("scripted"))
        # 4. batch-256 throughput
        for fig, csv_path, name in ((tp_test, test_csv, "test.csv"), (tp_train, train_csv, "train.csv")):
            res = last_json(runner.run(f"4. strata: throughput {name}",
                                       [S, "bench", "throughput", "--model", strata_model, "--data", csv_path,
                                        "--threads", T, "--batch", "256"]), "bench throughput")
            fig.strata.append(res["tweets_per_second"])
            res = last_json(runner.run(f"4. PyTorch: throughput {name}",
                                       P + ["throughput", "--model", torch_model, "--file", csv_path,
                                            "--batch", "256"]), "throughput")
            fig.torch.append(res["tweets_per_second"])
        print(f"  round {r + 1}/{args.rounds}: {time.time() - t0:.0f} s, load {load()}", file=sys.stderr, flush=True)
    end_load = load()
    total = time.time() - started

    # ---- report ----------------------------------------------------------------------------
    print(f"strata vs PyTorch {tv}: the sentiment classifier — started {start_stamp}, strata {git_head()} "
          f"({shown(build)}: {info.get('CMAKE_BUILD_TYPE', '?')}, STRATA_NATIVE={info.get('STRATA_NATIVE', '?')})")
    print(f"CPU: {cpu_model} ({os.cpu_count()} logical CPUs; {', '.join(simd) or 'no AVX2'}); "
          f"threads: {T} on both sides (PyTorch: torch.set_num_threads({T}), OpenBLAS/MKL at 1)")
    print(f"PyTorch's BLAS: {blas}")
    print(f"load average (1/5/15 min) at start {start_load}, at end {end_load}; {args.rounds} round(s) "
          f"alternating strata, PyTorch; {total:.0f} s in all")
    print()
    print("| figure | strata (median) | PyTorch (median) | ratio (> 1: strata better) |")
    print("| --- | ---: | ---: | ---: |")
    for fig in figures.values():
        s, p, ratio = fig.median("strata"), fig.median("torch"), fig.ratio()
        how = "strata / PyTorch" if fig.higher_is_better else "PyTorch / strata"
        print(f"| {fig.title} | {fig.fmt(s) if s is not None else '—'} | {fig.fmt(p) if p is not None else '—'} | "
              f"{f'{ratio:.2f}' if ratio is not None else '—'} ({how}) |")
    print()
    rate_s = statistics.median(extras["strata_epoch_line_tweets_per_second"] or [float("nan")])
    rate_p = statistics.median(extras["torch_epoch_tweets_per_second"] or [float("nan")])
    print(f"Training epoch as a rate: strata {rate_s:,.0f} tweets/s (its epoch line), PyTorch {rate_p:,.0f} "
          "tweets/s. Medians over rounds. Figure 1: each side's own clock around the epoch's training loop "
          "(batches, forward, loss, backward, clip 1.0, Adam step), validation excluded; figure 2: process "
          "start to exit, Python start-up and `import torch` included. Inference figures run a 1-epoch "
          "spec model trained by the same side (setup, untimed)."
          + ("" if all(extras["torch_scripted"]) else " PyTorch latency ran EAGER: jit.script failed."))
    print()
    print("Commands (from the repository root; the models come from the two setup commands"
          + ("" if args.workdir else f"; {W} was a temporary folder, removed at the end: pass --workdir "
             "to keep it") + "):")
    print()
    for label, line in runner.commands:
        print(f"    # {label}\n    {line}")

    if json_out:
        with open(json_out, "w", encoding="utf-8") as f:
            json.dump({"started": start_stamp, "load_start": start_load, "load_end": end_load,
                       "seconds": total, "git": git_head(), "build": info, "build_dir": shown(build),
                       "cpu": cpu_model, "cpu_simd": simd, "torch_blas": blas, "logical_cpus": os.cpu_count(),
                       "threads": args.threads, "rounds": args.rounds, "torch": tv,
                       "skip_full_run": args.skip_full_run,
                       "figures": {k: {"title": f.title, "unit": f.unit, "higher_is_better": f.higher_is_better,
                                       "strata": f.strata, "torch": f.torch,
                                       "strata_median": f.median("strata"), "torch_median": f.median("torch"),
                                       "ratio_strata_better": f.ratio()} for k, f in figures.items()},
                       "extras": extras,
                       "commands": [{"label": l, "command": c} for l, c in runner.commands]}, f, indent=1)
        sys.stdout.flush()
        print(f"raw figures: {json_out}", file=sys.stderr)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
