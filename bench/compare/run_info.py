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
