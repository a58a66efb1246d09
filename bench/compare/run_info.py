"""What the comparison scripts print about the build and the checkout they measured."""
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_info(build):
    """CMAKE_BUILD_TYPE, STRATA_NATIVE and CMAKE_CXX_COMPILER from BUILD/CMakeCache.txt."""
    info = {}
    try:
        with open(os.path.join(build, "CMakeCache.txt"), encoding="utf-8") as cache:
            for line in cache:
                for key in ("CMAKE_BUILD_TYPE", "STRATA_NATIVE", "CMAKE_CXX_COMPILER"):
                    if line.startswith(key + ":"):
                        info[key] = line.strip().split("=", 1)[1]
    except OSError:
        pass
    return info


def git_head():
    """The short commit of the checkout, with +dirty when tracked files are modified."""
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def torch_blas(python="/usr/bin/python3"):
    """The BLAS library PyTorch's matrix products run on, as loaded by a fresh interpreter.

    Debian's python3-torch links the generic libblas.so.3, which is the slow reference BLAS
    (about 4 GFLOP/s here) unless OpenBLAS (libopenblas0-pthread, installed by
    scripts/install-deps.sh --with-torch) provides it. Returns (path, is_reference)."""
    probe = ("import torch\n"
             "torch.ones(64, 64) @ torch.ones(64, 64)\n"
             "paths = {line.split()[-1] for line in open('/proc/self/maps') if 'blas' in line.lower()}\n"
             "print(next((p for p in sorted(paths) if 'openblas' in p.lower()), "
             "next((p for p in sorted(paths) if 'libblas' in p), 'none')))\n")
    try:
        path = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False
    reference = "openblas" not in path.lower() and "mkl" not in path.lower()
    return path, reference


def warn_if_reference_blas(stream):
    """Prints the BLAS PyTorch uses; warns when it is the reference BLAS (ratios are then meaningless)."""
    path, reference = torch_blas()
    if reference:
        print(f"WARNING: PyTorch's matrix products run on {path}, the reference BLAS: PyTorch is then several "
              "times slower than it can be. Install OpenBLAS (scripts/install-deps.sh --with-torch) first.",
              file=stream, flush=True)
    return path
