"""The Keras-style progress bar (tf.keras 2 look), for terminals and Jupyter.

    1875/1875 [==============================] - 7s 4ms/step - loss: 0.2003

verbose=1 rewrites one line in place (a carriage return, padded with spaces
to erase a longer previous line), at most every `interval` seconds and always
at the end; Jupyter gets at most one update per 0.1 s so long fits do not
flood the browser. When the stream is neither a terminal nor Jupyter (a log
file, a pipe), only each bar's final line is written. verbose=2 writes one
line per bar when it finishes.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, TextIO


def in_jupyter(stream: Any) -> bool:
    """True when `stream` is an IPython kernel's output stream."""
    return "ipykernel" in sys.modules and type(stream).__module__.startswith(
        "ipykernel"
    )


def format_value(value: float) -> str:
    """Keras's number format: 4 decimals, or 4-digit scientific below 1e-3."""
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def format_eta(seconds: float) -> str:
    """h:mm:ss above an hour, m:ss above a minute, else whole seconds."""
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def format_per_step(seconds: float, unit: str = "step") -> str:
    """Time per step as whole s, ms or us, as Keras prints it."""
    if seconds >= 1:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


class Progbar:
    """A progress bar over `target` steps.

    Parameters
    ----------
    target : int
        Number of steps.
    width : int
        Cells of the bar (Keras: 30).
    verbose : int
        1: live bar; 2: one line at the end.
    interval : float
        Minimum seconds between redraws.
    unit_name : str
        Word after the per-step time ("step").
    file : text stream, optional
        Defaults to sys.stdout, looked up at each write.
    clock : callable, optional
        Time source (tests pass a fake clock).
    """

    def __init__(
        self,
        target: int | None,
        width: int = 30,
        verbose: int = 1,
        interval: float = 0.05,
        unit_name: str = "step",
        file: TextIO | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name, self._file = interval, unit_name, file
        self._clock = clock
        self._start = clock()
        self._last_draw = None
        self._first_step_end: float | None = None
        self._current = 0
        self._values: list[tuple[str, float]] = []
        self._drawn_width = 0
        self._done = False

    @property
    def file(self) -> TextIO:
        return self._file if self._file is not None else sys.stdout

    @property
    def current(self) -> int:
        """Steps done so far (the last value given to update)."""
        return self._current

    def update(
        self,
        current: int,
        values: list[tuple[str, float]] | None = None,
        finalize: bool | None = None,
    ) -> None:
        """Move to step `current`, showing `values` (name, value) as given."""
        if values is not None:
            self._values = list(values)
        now = self._clock()
        if self._first_step_end is None and current >= 1:
            self._first_step_end = now
        self._current = current
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self._done:
            return
        if finalize:
            self._done = True
        stream = self.file
        live = self.verbose == 1 and (in_jupyter(stream) or _isatty(stream))
        if self.verbose == 1 and live and not finalize:
            interval = max(self.interval, 0.1) if in_jupyter(stream) else self.interval
            if self._last_draw is not None and now - self._last_draw < interval:
                return
        elif not finalize:
            return
        if self.verbose == 2 and not finalize:
            return
        self._last_draw = now
        line = self._line(now, finalize)
        if live:
            padding = " " * max(0, self._drawn_width - len(line))
            stream.write("\r" + line + padding)
            self._drawn_width = len(line)
            if finalize:
                stream.write("\n")
        else:
            stream.write(line + "\n")
        stream.flush()

    def add(self, n: int, values: list[tuple[str, float]] | None = None) -> None:
        """Advance by `n` steps."""
        self.update(self._current + n, values)

    def _line(self, now: float, finalize: bool) -> str:
        elapsed = now - self._start
        target = self.target
        if target is None:
            counter = f"{self._current:7d}/Unknown"  # Keras 2's width
        else:
            digits = len(str(target))
            counter = f"{self._current:{digits}d}/{target}"
        per_step = self._per_step(now)
        if self.verbose == 2:
            parts = [counter, f" - {elapsed:.0f}s"]
            parts += [f" - {k}: {format_value(v)}" for k, v in self._values]
            parts.append(
                f" - {elapsed:.0f}s/epoch - {format_per_step(per_step, self.unit_name)}"
            )
            return "".join(parts)
        bar = ""
        if target:
            filled = int(self.width * min(self._current, target) / target)
            if filled > 0:
                bar = "=" * (filled - 1) + ("=" if self._current >= target else ">")
            bar = "[" + bar + "." * (self.width - filled) + "]"
        line = f"{counter} {bar}" if bar else counter
        if finalize:
            line += f" - {elapsed:.0f}s {format_per_step(per_step, self.unit_name)}"
        else:
            remaining = (target - self._current) * per_step if target else 0
            line += f" - ETA: {format_eta(remaining)}"
        line += "".join(f" - {k}: {format_value(v)}" for k, v in self._values)
        return line

    def _per_step(self, now: float) -> float:
        """Seconds per step, leaving out the first step (it includes warm-up)."""
        if self._current >= 2 and self._first_step_end is not None:
            return (now - self._first_step_end) / (self._current - 1)
        return (now - self._start) / max(self._current, 1)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
