"""The one schema of a result: its columns, what identifies it, its roles and its statuses.

Every other module names a column, a role or a status through this one. Torch-free, so a table
can be read, analysed and rendered anywhere.

Schema history (bump SCHEMA_VERSION, add a line, and teach ``storage.upgrade`` the step):
    1  first version.
    2  status 'noisy' (never measured on a healthy machine) renamed 'unhealthy', so that 'noisy'
       means one thing: the column flagging IQR / median above NOISE_THRESHOLD.
    3  status 'unavailable' (a mode whose framework or backend this install lacks); columns
       compile_s and mode_threads (compiled peers), predicted_s and predicted_bound (the time
       model), shard and shards (sharded runs), jax_version. Older tables read them as null.
    4  column matmul_precision: the precision every framework's matrix products ran at
       ('highest': in the dtype itself). Version 3 rows read 'highest' on a CPU (torch and JAX
       both multiplied in full precision there) and null on a GPU, where JAX ran TF32; column
       timing_method (back-to-back calls, caches warm: no L2 flush), null before.
    5  columns allocation, alloc_cpus and node_shared: what a scheduler (SLURM) gave the run
       ('' and null outside one). Older tables read them as ''/null.
    6  column machine_id: a digest of what tells one machine from another beyond its host name
       (``measure.environment.machine_id``); null before, so an older row never counts as this
       machine's on resume (it is read, reported, and measured again rather than trusted).
"""

from __future__ import annotations

import pyarrow as pa

from jacbench.results.point import POINT_FIELDS

SCHEMA_VERSION = 6


class Role:
    """Why a row was measured: the sweep itself, or the drift check that brackets it."""

    SWEEP = "sweep"
    STABILITY_START = "stability-start"
    STABILITY_END = "stability-end"
    STABILITY = (STABILITY_START, STABILITY_END)


class Status:
    """What happened to a (point, mode): only OK and UNHEALTHY rows carry a time."""

    OK = "ok"
    MISMATCH = "mismatch"  # disagreed with the float64 reference: not timed
    SKIPPED = "skipped"  # one call above --max-call-time: not timed
    OOM = "oom"
    ERROR = "error"
    UNHEALTHY = "unhealthy"  # timed, but the speed probe never recovered: the machine was slow
    UNAVAILABLE = "unavailable"  # the mode's framework or backend is missing from this install
    CRASHED = "crashed"  # its worker process died while running it (a signal or an exit code)
    TIMEOUT = "timeout"  # ran past the wall-clock cap per mode (--mode-timeout): killed
    ALL = (OK, MISMATCH, SKIPPED, OOM, ERROR, UNHEALTHY, UNAVAILABLE, CRASHED, TIMEOUT)
    TIMED = (OK, UNHEALTHY)
    #: After these a (point, mode) is done and is not measured again on resume (a crash, like
    #: an error, is tried again; a mode past the cap, like one past --max-call-time, is not).
    DONE = frozenset({OK, MISMATCH, SKIPPED, TIMEOUT})


#: IQR / median above which a measurement's repeats disagree more than on a quiet machine
#: (torch.utils.benchmark's warning level); the ``noisy`` column.
NOISE_THRESHOLD = 0.10

#: Relative change of a median beyond which two measurements of one (point, mode) disagree:
#: the drift check's and ``compare``'s limit.
REPRODUCE_WITHIN = 0.10

#: Columns that identify a measurement: the key for resume, merge and grouping.
KEY_COLUMNS: tuple[str, ...] = ("role", "mode", *POINT_FIELDS)

#: Environment columns that must match for results to be mixed in one folder without --append.
COMPATIBILITY_COLUMNS: tuple[str, ...] = ("host", "cpu_model", "torch_version", "cuda_version")

#: Columns that must match too, where a row has them, for a row to count as this machine's: a
#: row without one (an older schema) is never taken for this machine's on resume.
IDENTITY_COLUMNS: tuple[str, ...] = ("machine_id",)

#: What tells one machine's rows from another's in a folder that holds several.
MACHINE_COLUMNS: tuple[str, ...] = ("host", "device_name", *COMPATIBILITY_COLUMNS[1:])

#: Settings that change a measurement: a resume with other values is refused (or, with
#: --append, measures anew beside the old rows).
SETTINGS_COLUMNS: tuple[str, ...] = ("num_threads", "min_run_time_s", "rounds")

#: What makes two sweep rows the same measurement: the newer one replaces the older.
SAME_MEASUREMENT: tuple[str, ...] = (*KEY_COLUMNS, *COMPATIBILITY_COLUMNS, *SETTINGS_COLUMNS)

#: The largest integer an integer column holds (int64): sizes and seeds must stay below it.
MAX_INT = 2**63 - 1


_f64, _i64, _str, _bool = pa.float64(), pa.int64(), pa.string(), pa.bool_()

#: Every column, its type, and what it means: the one place the schema is declared.
COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    # identity
    ("role", _str, "'sweep', or 'stability-start'/'stability-end' for the drift check"),
    ("mode", _str, "Jacobian mode name"),
    ("L", _i64, "activation layers"),
    ("D", _i64, "input size"),
    ("K", _i64, "hidden width"),
    ("P", _i64, "output size"),
    ("batch", _i64, "inputs per call (1 means a single (D,) input)"),
    ("dtype", _str, "float32, float64, tf32 (float32 storage, TF32 products), bfloat16 or "
     "float16 (catalog.DTYPE_BYTES)"),
    ("device", _str, "cpu or cuda"),
    ("activation", _str, "tanh, sigmoid or relu"),
    ("bias", _bool, "whether the model has biases"),
    ("seed", _i64, "model and input seed"),
    # outcome
    ("status", _str, ", ".join(Status.ALL)),
    ("reason", _str, "why the status is not ok ('' when ok)"),
    ("rel_error", _f64, "relative Frobenius error against the float64 reference"),
    # timing
    ("time_median_s", _f64, "median seconds per Jacobian call, over rounds"),
    ("time_iqr_s", _f64, "interquartile range of the per-call times, seconds"),
    ("repeats", _i64, "number of timed repeats (blocks) over all rounds"),
    ("number_per_run", _i64, "calls per timed repeat"),
    ("raw_times_s", pa.list_(_f64), "per-call seconds of every repeat"),
    ("round_medians_s", pa.list_(_f64), "median per-call seconds of each round"),
    ("rounds", _i64, "interleaved rounds"),
    ("noisy", _bool, f"IQR / median > {NOISE_THRESHOLD:g}"),
    ("min_run_time_s", _f64, "timing budget per measurement, seconds"),
    ("compile_s", _f64, "one-off cost of the first call beyond a steady one (tracing, compiling,"
     " loading), seconds; never inside the median"),
    ("mode_threads", _i64, "CPU threads the mode's framework ran with (torch's or XLA's)"),
    ("matmul_precision", _str, "precision of every framework's matrix products ('highest': in "
     "the dtype itself, TF32 off; 'tf32': TF32 tensor cores; catalog.MATMUL_PRECISION)"),
    # theory and ceilings
    ("macs", _i64, "multiply-adds of the mode by the cost model"),
    ("flops", _i64, "2 x macs"),
    ("bytes_moved", _i64, "minimum bytes moved by the cost model"),
    ("model_peak_bytes", _i64, "extra memory the mode holds at peak, by the cost model"),
    ("measured_peak_bytes", _i64, "measured peak memory of one call (CUDA only), bytes"),
    ("peak_flops", _f64, "measured matmul ceiling of the device and dtype, FLOP/s"),
    ("peak_bandwidth", _f64, "measured memory bandwidth of the device, bytes/s"),
    ("floor_s", _f64, "max(flops / peak_flops, bytes_moved / peak_bandwidth)"),
    ("efficiency", _f64, "floor_s / time_median_s"),
    ("predicted_s", _f64, "time predicted by the calibrated time model, seconds"),
    ("predicted_bound", _str, "the term that dominates the prediction, in words"),
    # machine health at the point
    ("probe_before_gflops", _f64, "speed probe before the point, GFLOP/s"),
    ("probe_after_gflops", _f64, "speed probe after the point, GFLOP/s"),
    ("retries", _i64, "re-runs of the point after a slow probe"),
    ("load_avg_1m", _f64, "1-minute load average at the start of the point"),
    ("cpu_freq_mhz", _f64, "CPU clock at the start of the point, where readable"),
    ("busy_procs", _i64, "other running processes at the start of the point"),
    ("gpu_clock_mhz", _f64, "GPU SM clock at the start of the point, where readable"),
    ("gpu_temp_c", _f64, "GPU temperature at the start of the point, where readable"),
    ("measured_at", _str, "UTC time the point was measured (ISO 8601)"),
    # environment, collected once per run
    ("schema_version", _i64, "this schema's version"),
    ("jacbench_version", _str, "jacbench version"),
    ("torch_version", _str, "torch version"),
    ("cuda_version", _str, "CUDA version torch was built with ('' for none)"),
    ("device_name", _str, "GPU name, or the CPU model for cpu rows"),
    ("cpu_model", _str, "CPU model"),
    ("num_threads", _i64, "torch intra-op threads"),
    ("host", _str, "host name"),
    ("machine_id", _str, "digest of the machine's identity: /etc/machine-id where readable, CPU "
     "count, total memory, OS and architecture"),
    ("platform", _str, "OS and architecture"),
    ("python_version", _str, "Python version"),
    ("git_commit", _str, "jacbench git commit, where known"),
    ("jax_version", _str, "JAX version ('' where JAX is not installed)"),
    ("timing_method", _str, "how the median was taken (measure.environment.TIMING_METHOD)"),
    ("run_id", _str, "identifier of the sweep run that wrote the row"),
    ("shard", _i64, "index of the shard of a sharded run that measured the row (0-based)"),
    ("shards", _i64, "number of shards of the run (1 when not sharded)"),
    ("started_at", _str, "UTC time the run started (ISO 8601)"),
    ("allocation", _str, "what the scheduler gave the run, in words ('' outside one): job, "
     "node, CPUs, GPUs, whole node or not, other jobs found on the node"),
    ("alloc_cpus", _i64, "CPUs the scheduler allocated to the task (null outside one)"),
    ("node_shared", _bool, "other jobs ran on the node while the task timed (null: unknown or "
     "no scheduler)"),
)

#: Columns each schema version added: a table of an older version reads them as null.
ADDED_IN: dict[int, tuple[str, ...]] = {
    3: ("compile_s", "mode_threads", "predicted_s", "predicted_bound", "jax_version", "shard",
        "shards"),
    4: ("matmul_precision", "timing_method"),
    5: ("allocation", "alloc_cpus", "node_shared"),
    6: ("machine_id",),
}

SCHEMA = pa.schema([pa.field(name, typ) for name, typ, _ in COLUMNS])
COLUMN_NAMES: tuple[str, ...] = tuple(SCHEMA.names)
