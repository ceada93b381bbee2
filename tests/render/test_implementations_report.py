"""The fastest of each implementation per shape and precision, in the report and its figure:
the winners of a table of known law, rows not ok left out, nothing where one implementation ran."""

from __future__ import annotations

from factories import flop_time, frame_of, grid, make_rows, write_rows
from test_plots import assert_readable_png

from jacbench.analysis.table import ok_sweep
from jacbench.render.figures_implementations import implementations
from jacbench.render.plots import make_plots
from jacbench.render.report import write_report
from jacbench.render.sections_implementations import fastest_per_implementation
from jacbench.results.schema import Status

#: Speed-ups over reverse's ``flop_time``: JAX leads in float32, eager reverse in bfloat16.
SPEED = {"float32": {"reverse": 2.0, "jacrev": 1.0, "jax-jacrev": 4.0, "reverse-compiled": 3.0},
         "bfloat16": {"reverse": 8.0, "jacrev": 2.0, "jax-jacrev": 5.0, "reverse-compiled": 6.0}}


def rows_of(dtype: str) -> list[dict]:
    return make_rows(grid(L=[2, 8]), tuple(SPEED[dtype]), device="cuda", dtype=dtype,
                     time=lambda m, p: flop_time("reverse", p) / SPEED[dtype][m])


def table_rows() -> list[dict]:
    rows = rows_of("float32") + rows_of("bfloat16")
    # a faster mode that failed its check, and a faster one skipped: neither may win
    rows += make_rows(grid(L=[2, 8]), ("reverse-aoti",), device="cuda", dtype="bfloat16",
                      time=lambda m, p: 1e-9, status=Status.MISMATCH)
    rows += make_rows(grid(L=[2, 8]), ("jax-jacfwd",), device="cuda", time=lambda m, p: 1e-9,
                      status=Status.SKIPPED)
    return rows


def section_rows(lines: list[str]) -> dict[tuple[str, str], list[str]]:
    """The first table's rows by (L, precision): its cells."""
    body = lines[lines.index("| L | D | K | P | N | precision | eager | jax-jit | torch.compile |"
                             ) + 2:]
    found = {}
    for line in body:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        found[(cells[0], cells[5])] = cells[6:]
    return found


def test_the_section_names_each_implementations_winner_per_shape_and_precision():
    lines = fastest_per_implementation(ok_sweep(frame_of(table_rows())))
    assert "## Fastest of each implementation, per shape and precision" in lines
    rows = section_rows(lines)
    assert set(rows) == {(L, p) for L in ("2", "8") for p in ("float32", "bfloat16")}
    for L in ("2", "8"):
        eager, jax, compiled = rows[(L, "float32")]
        assert jax.startswith("**jax-jacrev**")  # the winner, in bold, no ratio
        assert eager.startswith("reverse ") and eager.endswith("(2.00x)")
        assert compiled.startswith("reverse-compiled ") and compiled.endswith("(1.33x)")
        eager, jax, compiled = rows[(L, "bfloat16")]
        assert eager.startswith("**reverse**")
        assert jax.endswith("(1.60x)") and compiled.endswith("(1.33x)")
    text = "\n".join(lines)
    assert "aoti" not in text and "jax-jacfwd" not in text  # not ok: never shown


def test_the_section_counts_the_points_each_implementation_won():
    lines = fastest_per_implementation(ok_sweep(frame_of(table_rows())))
    wins = lines[lines.index("| precision | points | eager | jax-jit | torch.compile |") + 2:]
    assert wins[:2] == ["| float32 | 2 | 0 | 2 | 0 |", "| bfloat16 | 2 | 2 | 0 | 0 |"]


def test_one_implementation_alone_has_no_section_and_no_figure():
    ok = ok_sweep(frame_of(make_rows(grid(L=[2, 8]), ("forward", "reverse", "jacrev"))))
    assert fastest_per_implementation(ok) == []
    assert "two or more implementations" in implementations(ok)


def test_the_report_embeds_the_section_and_its_figure(tmp_path):
    write_rows(tmp_path, table_rows())
    plots = make_plots(tmp_path)
    figure = tmp_path / "_plots" / "implementations.png"
    assert figure in plots.paths
    assert_readable_png(figure)
    text = write_report(tmp_path, plots).read_text()
    section = text.index("## Fastest of each implementation, per shape and precision")
    assert section < text.index("implementations.png") < text.index("## Compiled against eager")
