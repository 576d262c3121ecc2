"""`python -m tinynn --epochs 1` draws a readable plot (issue #20): no
accuracy tick above 1, a whole-epoch x axis, the legend clear of the points."""

from __future__ import annotations

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from tinynn import plot  # noqa: E402

ONE_EPOCH = [
    {"loss": [0.31], "val_loss": [0.25], "accuracy": [0.99], "val_accuracy": [1.0]},
    {"loss": [2.3], "val_loss": [2.3], "accuracy": [0.1], "val_accuracy": [0.1]},
    {"loss": [0.05], "accuracy": [1.0]},
]


@pytest.mark.parametrize("records", ONE_EPOCH)
def test_one_epoch_plot_is_readable(records):
    figure = plot.history(records)
    figure.canvas.draw()
    for ax in figure.axes:
        name = ax.get_title().split()[0]
        bottom, top = ax.get_ylim()
        visible = [t for t in ax.get_yticks() if bottom <= t <= top]
        assert len(visible) >= 3
        if name == "accuracy":
            assert max(visible) <= 1.0 + 1e-12 and min(visible) >= 0.0
        assert [
            t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]
        ] == [1]
        legend = ax.get_legend().get_window_extent()
        for line in ax.get_lines():
            for x, y in zip(line.get_xdata(), line.get_ydata()):
                px, py = ax.transData.transform((x, y))
                assert not legend.contains(px, py), (name, x, y)
                assert bottom < y < top
