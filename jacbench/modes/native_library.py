"""Building and loading the native Jacobian kernel (``native_kernel.c``), once per machine.

The kernel is compiled with the system's C compiler on first use (about 0.5 s) into a cache
folder, keyed by the source, the flags, the compiler and the CPU (``-march=native`` makes the
library specific to it); later processes load it from there. The products go to the BLAS that
torch itself links: its ``sgemm_``/``dgemm_`` (and MKL's ``mkl_set_num_threads_local``) are
looked up in the torch library already loaded and handed to the kernel, so nothing is linked at
build time and the kernel needs no BLAS of its own. Where either is missing (no compiler, a torch
build that exports no BLAS, a cache folder that cannot be written), the native modes raise
``ModeUnavailable`` saying which, and every other mode runs.

Caches are disposable: each built library has a check file beside it (its size and sha256),
and a library without one, or that differs from it, or that fails to load, is built again
with one line on stderr saying so. A library is only handed to the loader once its bytes
match: mapping a truncated one ends the process with SIGBUS, which no handler can turn into
a message.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from jacbench.modes.prepared import ModeUnavailable
from jacbench.paths import cache_root

__all__ = ["FLAGS", "Kernel", "cache_folder", "kernel"]

_HERE = Path(__file__).resolve().parent
SOURCES = ("native_kernel.c", "native_kernel.h")
#: -ffast-math lets gcc call glibc's vector tanh/exp (libmvec) in the activation loops; it
#: assumes finite values, so a native mode's Jacobian at an input holding ±inf is not defined.
#: -fopenmp splits the large elementwise passes over threads, in the libgomp torch has loaded.
FLAGS = ("-O3", "-march=native", "-ffast-math", "-fopenmp", "-fPIC", "-shared")


def cache_folder() -> Path:
    """Where compiled kernels are kept: a ``native`` folder in jacbench's cache
    (``jacbench.paths.cache_root``: $JACBENCH_CACHE, else $XDG_CACHE_HOME/jacbench, else
    ~/.cache/jacbench)."""
    return cache_root() / "native"


def _compiler() -> str:
    found = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not found:
        raise ModeUnavailable("no C compiler (cc or gcc, or $CC) to build the native kernel")
    return found


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next((line for line in f if line.startswith("model name")), "")
    except OSError:
        return platform.processor()


def _build(compiler: str) -> Path:
    """The compiled kernel for this source, compiler and CPU, built now if not yet cached (or if
    the cached copy does not match its check file: a damaged file is rebuilt, never loaded)."""
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    digest = hashlib.sha256()
    for part in (*(_HERE / s for s in SOURCES),):
        digest.update(part.read_bytes())
    for text in (*FLAGS, version, platform.machine(), _cpu_model()):
        digest.update(text.encode())
    target = cache_folder() / f"jacbench-native-{digest.hexdigest()[:16]}.so"
    if target.exists():
        damage = _damage(target)
        if not damage:
            return target
        _say(f"the cached native kernel {target} is {damage}; rebuilding it")
    return _compile(compiler, target)


def _check_file(target: Path) -> Path:
    """The check file beside a built kernel: its size and sha256, written after it."""
    return target.with_suffix(".check")


def _fingerprint(path: Path) -> str:
    """Size and sha256 of a file, read (never mapped: mapping a truncated library SIGBUSes)."""
    data = path.read_bytes()
    return f"{len(data)} {hashlib.sha256(data).hexdigest()}"


def _damage(target: Path) -> str:
    """Why the cached kernel cannot be trusted ('' when its check file vouches for it)."""
    try:
        expected = _check_file(target).read_text(encoding="utf-8").strip()
    except OSError:
        return "not vouched for by its check file"
    try:
        return "" if _fingerprint(target) == expected else "damaged (size or checksum differ)"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"


def _compile(compiler: str, target: Path) -> Path:
    """Build the kernel into ``target`` atomically, then its check file; ModeUnavailable (one
    line) where the compiler fails or the cache folder cannot be written."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=".build-", suffix=".so", dir=target.parent)
    except OSError as exc:
        raise ModeUnavailable(f"cannot write the native kernel's cache {target.parent} "
                              f"({exc.strerror or exc}; $JACBENCH_CACHE sets where it goes)"
                              ) from None
    os.close(fd)
    try:
        done = subprocess.run([compiler, *FLAGS, "-o", partial, str(_HERE / SOURCES[0]), "-lm"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise ModeUnavailable(f"the native kernel did not compile: {last}")
        check = _fingerprint(Path(partial))
        os.replace(partial, target)  # atomic: a concurrent builder's copy is the same bytes
        _write_atomically(_check_file(target), check)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target


def _write_atomically(path: Path, text: str) -> None:
    fd, partial = tempfile.mkstemp(prefix=".check-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(partial, path)


def _say(line: str) -> None:
    """One line on stderr: a cache put right is news to the user, not an error."""
    print(f"jacbench: {line}", file=sys.stderr)


def _torch_blas() -> tuple[int, int, int | None]:
    """Addresses of sgemm_, dgemm_ and (MKL only) mkl_set_num_threads_local in torch."""
    lib_dir = Path(torch.__file__).parent / "lib"
    for name in ("libtorch_cpu.so", "libtorch_cpu.dylib", "torch_cpu.dll"):
        if (lib_dir / name).exists():
            lib = ctypes.CDLL(str(lib_dir / name))
            break
    else:
        raise ModeUnavailable(f"no torch CPU library found in {lib_dir}")

    def address(symbol: str) -> int | None:
        try:
            return ctypes.cast(getattr(lib, symbol), ctypes.c_void_p).value
        except AttributeError:
            return None

    sgemm, dgemm = address("sgemm_"), address("dgemm_")
    if sgemm is None or dgemm is None:
        raise ModeUnavailable("this torch build exports no BLAS sgemm_/dgemm_ for the native "
                              "kernel to call")
    return sgemm, dgemm, address("mkl_set_num_threads_local_")


@dataclass(frozen=True)
class Kernel:
    """The loaded kernel: one entry per dtype, and whether it can set the BLAS's threads."""

    library: ctypes.CDLL
    path: Path
    sets_threads: bool

    def entry(self, dtype: torch.dtype) -> ctypes._CFuncPtr:
        return {torch.float32: self.library.jb_jacobian_f32,
                torch.float64: self.library.jb_jacobian_f64}[dtype]


def kernel() -> Kernel:
    """The native kernel, compiled if needed and loaded, with torch's BLAS handed to it; raises
    ModeUnavailable (the same reason every time, found once per process) where it cannot be."""
    found = _load()
    if isinstance(found, ModeUnavailable):
        raise ModeUnavailable(str(found))
    return found


@functools.cache
def _load() -> Kernel | ModeUnavailable:
    try:
        compiler = _compiler()
        path = _build(compiler)
        sgemm, dgemm, set_threads = _torch_blas()
        try:
            library = ctypes.CDLL(str(path))
        except OSError as exc:  # vouched for, yet not loadable: built again, once
            _say(f"the cached native kernel {path} does not load ({exc}); rebuilding it")
            library = ctypes.CDLL(str(_compile(compiler, path)))
    except ModeUnavailable as exc:  # kept: a sweep asks at every point, a build takes 0.5 s
        return exc
    except OSError as exc:
        return ModeUnavailable(f"the native kernel does not load: {exc}")
    library.jb_set_blas.argtypes = [ctypes.c_void_p] * 3
    library.jb_set_blas(sgemm, dgemm, set_threads)
    for entry in (library.jb_jacobian_f32, library.jb_jacobian_f64):
        entry.argtypes = [ctypes.c_void_p] * 3
        entry.restype = ctypes.c_int
    return Kernel(library, path, set_threads is not None)
