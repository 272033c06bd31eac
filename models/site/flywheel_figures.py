"""The flywheel loop as a picture (the site's index and the README show it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# The loop of DESIGN.md, clockwise from the top; each arrow names the mechanism module that carries it.
STAGES = ("token rewards\n(USD value)", "providers", "capacity /\ncoverage", "paying users", "burn and buy\nof tokens",
          "token price")
ARROWS = ("entry values rewards\n(mechanisms.providers)", "hardware online\n(supply_chain)",
          "quality attracts\n(mechanisms.demand)", "usage is paid\n(mechanisms.payment)",
          "pool trades\n(mechanisms.amm)", "emission x price\n(mechanisms.emission)")


def draw_flywheel():
    """The loop as a matplotlib figure: six stages on a circle, arrows labelled by mechanism."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    fig, ax = plt.subplots(figsize=(8.5, 6.4))
    n = len(STAGES)
    angles = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    xy = np.column_stack([np.cos(angles), np.sin(angles)])
    for (x, y), label in zip(xy, STAGES, strict=True):
        ax.text(x, y, label, ha="center", va="center", fontsize=11,
                bbox={"boxstyle": "round,pad=0.5", "fc": "#e8f0fe", "ec": "#0b5394"})
    for i, label in enumerate(ARROWS):
        a, b = xy[i], xy[(i + 1) % n]
        start, end = a + 0.27 * (b - a), a + 0.73 * (b - a)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=18, lw=1.6, color="#0b5394",
                                     connectionstyle="arc3,rad=-0.25"))
        between = angles[i] - np.pi / n  # labels sit outside the circle, half-way between two stages
        ax.text(1.5 * np.cos(between), 1.3 * np.sin(between), label, ha="center", va="center", fontsize=8.5,
                color="#333")
    ax.text(0, 0.1, "flywheel", ha="center", va="center", fontsize=13, weight="bold", color="#0b5394")
    ax.text(0, -0.12, "a price shock runs the same\narrows backwards: the death spiral", ha="center", va="center",
            fontsize=9, color="#b00020")
    ax.set_xlim(-2.1, 2.1)
    ax.set_ylim(-1.5, 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("The DePIN token flywheel tested by every notebook", fontsize=12)
    fig.tight_layout()
    return fig


def write_flywheel(path: str | Path) -> Path:
    """Write the picture as SVG by atomic rename; returns the path."""
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from models.io import atomic_write_text

    fig = draw_flywheel()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})  # no timestamp: the file is reproducible
    plt.close(fig)
    path = Path(path)
    atomic_write_text(path, buffer.getvalue())
    return path
