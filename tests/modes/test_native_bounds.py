"""The native kernel stays inside the buffers the plan gives it.

A C harness calls the kernel (compiled with AddressSanitizer and UndefinedBehaviorSanitizer) on
buffers of exactly ``native.buffer_sizes``, with a plain reference GEMM standing in for the BLAS,
at every path (forward, reverse, a chain program), both forms of forward's last product, a
program's samples one after another and split over threads, and both thread policies; a write or
read one element past any buffer fails the run. Skipped where the C compiler has no sanitizers.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from jacbench.modes import native
from jacbench.theory.chain_plan import chain_plan

KERNEL_DIR = Path(native.__file__).parent
#: (L, D, K, P, N): tiny, narrow K, mixed plans, an axis at 1, elementwise passes big enough to
#: be split over threads (N·P·K, N·D·K and a program's scaled factor >= 32768).
SHAPES = [(3, 4, 9, 6, 1), (2, 7, 3, 11, 4), (3, 10, 2, 12, 3), (4, 12, 2, 10, 2),
          (1, 3, 5, 2, 1), (5, 2, 30, 10, 1), (2, 70, 120, 90, 4), (3, 300, 200, 310, 1)]

PRELUDE = r"""
#include "native_kernel.c"
#include <stdio.h>
#include <stdlib.h>

/* Column-major C = alpha op(A) op(B), as the Fortran BLAS computes it. */
static void gemm(const char *ta, const char *tb, const int *m, const int *n, const int *k,
                 const float *alpha, const float *A, const int *lda, const float *B,
                 const int *ldb, const float *beta, float *C, const int *ldc) {
    (void)beta;
    for (int j = 0; j < *n; j++)
        for (int i = 0; i < *m; i++) {
            double s = 0;
            for (int p = 0; p < *k; p++)
                s += (double)(*ta == 'N' ? A[i + p * *lda] : A[p + i * *lda])
                     * (*tb == 'N' ? B[p + j * *ldb] : B[j + p * *ldb]);
            C[i + j * *ldc] = *alpha * (float)s;
        }
}
static int local_threads(const int *n) { (void)n; return 0; }
static float *fresh(size_t n) {  /* exactly n floats (at least one), filled */
    float *p = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = (float)(i % 13) / 13.0f - 0.5f;
    return p;
}
int main(void) {
    jb_set_blas((void *)gemm, (void *)gemm, (void *)local_threads);
"""


def _case(L: int, D: int, K: int, P: int, N: int, path: str, final_t: int) -> str:
    across = final_t  # a program's two batch strategies ride on the two runs of each path
    sizes = native.buffer_sizes(path, L, D, K, P, N)
    program = native.chain_program(L, D, K, P)[0] if path == "program" else []
    temps = sizes.temps
    flat = ",".join(str(v) for step in program for v in step) or "0"
    dims = [(K, D)] + [(K, K)] * (L - 1) + [(P, K)]
    kind = {"forward": 0, "reverse": 1, "program": 2}[path]
    lines = [f"{{ int prog[] = {{{flat}}}; float *W[{L + 1}], *b[{L + 1}], "
             f"*slots[{L + 1 + len(temps)}];"]
    lines += [f" W[{i}] = fresh({r * c}); b[{i}] = fresh({r}); slots[{i}] = W[{i}];"
              for i, (r, c) in enumerate(dims)]
    lines += [f" slots[{L + 1 + j}] = fresh({size});" for j, size in enumerate(temps)]
    lines += [
        f" struct net_f32 net = {{{L}, {D}, {K}, {P}, {N}, 0, {kind}, 2,"
        " (const float *const *)W, (const float *const *)b,"
        f" fresh({sizes.acts}), fresh({sizes.work}), fresh({sizes.work}),"
        f" {len(program)}, prog, slots, fresh({sizes.scratch}), fresh({sizes.slopes}),"
        f" 0, {final_t}, {sizes.scratch_each}, {across}}};",
        f" float *x = fresh({N * D}), *J = fresh({N * P * D});",
        " for (int serial = 0; serial < 2; serial++) {",
        "  net.serial_macs = serial ? (1LL << 62) : 0;",
        "  if (jb_jacobian_f32(&net, x, J) != 0) return 3; }",
        f' printf("ok {L} {D} {K} {P} {N} {path} {final_t}\\n"); }}',
    ]
    return "\n".join(lines)


def _harness() -> tuple[str, int]:
    cases = []
    for L, D, K, P, N in SHAPES:
        paths = ["forward", "reverse"] + (["program"] if chain_plan(L, D, K, P).kind == "mixed"
                                          else [])
        cases += [_case(L, D, K, P, N, path, final_t) for path in paths for final_t in (0, 1)]
    return PRELUDE + "\n".join(cases) + "\n return 0; }\n", len(cases)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_kernel_reads_and_writes_only_inside_the_plans_buffers(tmp_path):
    source, count = _harness()
    (tmp_path / "harness.c").write_text(source)
    built = subprocess.run(
        ["gcc", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
         "-fopenmp", f"-I{KERNEL_DIR}", "harness.c", "-o", "harness", "-lm"],
        cwd=tmp_path, capture_output=True, text=True)
    if built.returncode != 0 and "sanitize" in built.stderr:
        pytest.skip(f"gcc without sanitizers: {built.stderr.strip().splitlines()[-1]}")
    assert built.returncode == 0, built.stderr
    ran = subprocess.run([str(tmp_path / "harness")], capture_output=True, text=True,
                         env={"ASAN_OPTIONS": "detect_leaks=0"}, timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.count("ok ") == count
