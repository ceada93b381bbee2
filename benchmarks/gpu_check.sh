#!/usr/bin/env bash
# The GPU check: one command for a machine with an NVIDIA GPU whose Python packages are already
# installed and which cannot download anything (the project is imported from this checkout; no
# pip install). It runs, each under a time limit, in at most 8 minutes:
#   1. the CUDA-marked tests,
#   2. the quick preset on --device cuda, JAX included (rows, report, plots),
#   3. advise --measure at two shapes (the course's small config, and a batched compute-bound
#      one), every mode predicted and timed,
#   4. the Triton modes' benchmark (benchmarks/test_bench_triton.py) at the same two shapes,
# then writes everything (logs, the results folder, the advice as JSON) as one archive
# gpu-check-<time>.tar.gz into the folder named by its argument, and prints a summary table last.
#
#   benchmarks/gpu_check.sh OUT_DIR            (PYTHON=python3.12 to pick the interpreter)
#
# Nothing is written inside the checkout: the run's folder and its caches live in a temporary
# directory until they are archived.
set -uo pipefail

DEST=${1:?usage: benchmarks/gpu_check.sh OUT_DIR}
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
NAME="gpu-check-$STAMP"
WORK="$(mktemp -d)/$NAME"
mkdir -p "$WORK" "$DEST" || exit 2
export JACBENCH_CACHE="$WORK/cache"

if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: torch sees no CUDA device here" >&2
    exit 2
fi
nvidia-smi > "$WORK/nvidia-smi.txt" 2>&1
"$PY" - > "$WORK/versions.txt" 2>&1 <<'EOF'
import importlib, platform, torch
print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.version.cuda,
      "device", torch.cuda.get_device_name(0))
for name in ("jax", "jaxlib", "pandas", "pyarrow", "matplotlib", "submitit", "pynvml"):
    try:
        print(name, importlib.import_module(name).__version__)
    except Exception as exc:
        print(name, "missing:", type(exc).__name__)
EOF
cat "$WORK/versions.txt"

# step NAME LIMIT_S COMMAND...: run under a limit, log to NAME.log, keep (name, exit, seconds)
step() {
    local name=$1 limit=$2 start=$SECONDS rc
    shift 2
    echo "== $name (at most ${limit} s)"
    timeout --kill-after=10 "$limit" "$@" > "$WORK/$name.log" 2>&1
    rc=$?
    echo "$name $rc $((SECONDS - start))" >> "$WORK/steps.txt"
    tail -n 4 "$WORK/$name.log"
}

step tests 100 "$PY" -m pytest -q -m cuda -p no:cacheprovider tests
step sweep 150 "$PY" -m jacbench sweep --preset quick --device cuda --out "$WORK/quick-cuda" --yes
# advise NAME LIMIT_S SIZES...: the ranking as JSON in NAME.json, its messages in NAME.log
advise() {
    local name=$1 limit=$2
    shift 2
    step "$name" "$limit" sh -c '"$0" -m jacbench advise "$@" --device cuda --measure --top 30 \
        --json > "$JSON"' "$PY" "$@"
}
JSON="$WORK/advise-small.json" advise advise-small 40 --L 10 --D 2 --K 30 --P 10
JSON="$WORK/advise-big.json" advise advise-big 60 --L 4 --D 256 --K 1024 --P 128 --batch 512
# the Triton modes against eager, graphs and JAX at the course's config and a compute-bound one
step triton 90 "$PY" -m pytest -q -p no:cacheprovider benchmarks/test_bench_triton.py \
    --benchmark-only --benchmark-max-time=0.2 --benchmark-json "$WORK/triton-bench.json"

tar -czf "$DEST/$NAME.tar.gz" -C "$(dirname "$WORK")" --exclude "$NAME/cache" "$NAME"
echo
echo "archive: $DEST/$NAME.tar.gz"
"$PY" - "$WORK" <<'EOF'
"""The summary: each step's exit and time, the sweep's rows by status, predicted against measured."""
import json, sys
from pathlib import Path

work = Path(sys.argv[1])
print(f"{'step':<14}{'exit':>6}{'seconds':>9}")
for line in (work / "steps.txt").read_text().split("\n"):
    if line:
        name, rc, s = line.split()
        print(f"{name:<14}{rc:>6}{s:>9}")
try:
    from jacbench.analysis.table import load_results
    rows = load_results(work / "quick-cuda")
    print("\nsweep rows by status:", rows["status"].value_counts().to_dict())
except Exception as exc:
    print(f"\nsweep rows: none read ({type(exc).__name__}: {exc})")
for name in ("advise-small", "advise-big"):
    try:
        ranking = json.loads((work / f"{name}.json").read_text())
    except (OSError, ValueError):
        print(f"\n{name}: no JSON ranking")
        continue
    print(f"\n{name}: {'mode':<28}{'predicted':>11}{'measured':>11}{'ratio':>7}")
    for r in ranking:
        p, m = r["predicted_s"], r.get("measured_s")
        ratio = f"{p / m:7.2f}" if m else "      -"
        shown = f"{m * 1e6:9.1f}us" if m else "          -"
        print(f"{'':<14}{r['mode']:<28}{p * 1e6:9.1f}us{shown}{ratio}")
EOF
