"""The question each figure answers and a note of what it draws: one home for both.

A figure's title asks its question; the report sets the same question and note beside the image,
next to the sentence the figure supports.
"""

from __future__ import annotations

from jacbench.analysis.prediction import BAND
from jacbench.results.point import AXES, AXIS_LABELS

__all__ = ["FIGURES", "question"]

_AXIS_WORDS = {"L": "depth L", "D": "input size D", "K": "hidden width K", "P": "output size P",
               "batch": "batch N"}

#: File name -> (the question in the figure's title, what the figure draws to answer it, as a
#: sentence).
FIGURES: dict[str, tuple[str, str]] = {
    **{f"time_vs_{a}.png": (
        f"How does each mode's time grow with {_AXIS_WORDS[a]}?",
        f"Median time against {AXIS_LABELS[a]}, log axes, a panel per family; each label gives "
        "the measured slope (the cost model's), the grey dashed guide has the model's slope")
        for a in AXES},
    "ratio_forward_reverse.png": (
        "Where does forward mode overtake reverse mode?",
        "The ratio t(forward) / t(reverse) against D/P, measured (▼ where it crosses 1) and by "
        "the FLOP model (× where it crosses)"),
    "best_mode_map.png": (
        "Which mode is fastest at each (D, P)?",
        "The fastest mode's colour and measured median in each cell, the cost model's boundary "
        "between the hand-written algorithms on top"),
    "efficiency.png": (
        "How close does each mode come to the machine's floor?",
        "Floor / measured time (100% = at the measured ceiling) against the cost model's FLOPs, "
        "one panel per family"),
    "cpu_vs_gpu.png": (
        "How much faster is each mode on the GPU than on the CPU?",
        "CPU time / GPU time at the points measured on both, against the cost model's FLOPs; "
        "above 1 the GPU is faster"),
    "launches.png": (
        "How much of the GPU time is launches?",
        "Eager time / one-program time (JAX jit, torch.compile, AOTInductor, CUDA graphs) of the "
        "same algorithm on the GPU, against FLOPs; what the one program saves is mostly launches"),
    "precisions.png": (
        "What does each precision cost and lose?",
        "Time and error against the float64 reference per dtype and matmul precision, at the "
        "largest point measured in every precision"),
    "implementations.png": (
        "How far is each implementation from the fastest, in each precision?",
        "Each implementation's fastest mode at each point: its time over the fastest of all "
        "against that fastest time, a panel per implementation, a marker per precision; 1 is "
        "the winner"),
    "compiled_vs_eager.png": (
        "Does compiling make a mode faster?",
        "Each compiled or native mode's median against the eager torch mode of the same "
        "algorithm, point by point; below the diagonal compiling helps (shaded: within 2x)"),
    "predicted_vs_measured.png": (
        "How well does the calibrated time model predict each mode?",
        f"Predicted against measured time for every ok row, log axes; the band is ±{BAND:.0%}"),
}


def question(name: str) -> str:
    """The figure's question (its title)."""
    return FIGURES[name][0]

