"""Rows of the new precisions beside older files: one folder holding a schema-3 float32 row and
today's tf32 and bfloat16 rows reads back whole, each with its dtype and matmul precision, and a
float32 and a tf32 row of one shape are different results (the dtype is part of the key)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from factories import result_row as make_row

from jacbench.catalog import MATMUL_PRECISION
from jacbench.results.folder import LEGACY_FILE, read_results
from jacbench.results.schema import KEY_COLUMNS, SCHEMA, SCHEMA_VERSION
from jacbench.results.storage import to_table, write_file


def test_old_and_new_precisions_read_back_together(tmp_path):
    old = to_table([make_row(schema_version=3)]).to_pandas()  # float32, before the column
    new = to_table([make_row(dtype=d, matmul_precision=MATMUL_PRECISION[d])
                    for d in ("tf32", "bfloat16")]).to_pandas()
    frame = pd.concat([old, new], ignore_index=True)
    write_file(tmp_path / LEGACY_FILE, pa.Table.from_pandas(frame, schema=SCHEMA,
                                                            preserve_index=False))
    rows = read_results(tmp_path).set_index("dtype")
    assert set(rows["schema_version"]) == {SCHEMA_VERSION}
    assert rows["matmul_precision"].to_dict() == {"float32": "highest", "tf32": "tf32",
                                                  "bfloat16": "highest"}
    keys = {tuple(r) for r in read_results(tmp_path)[list(KEY_COLUMNS)].itertuples(index=False)}
    assert len(keys) == 3  # same mode and shape: float32, tf32 and bfloat16 are apart
