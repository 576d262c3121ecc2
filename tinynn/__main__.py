"""``python -m tinynn`` / ``tinynn``: the Keras article's model, end to end.

Trains Flatten-512-256-128-10 (ReLU, softmax, Adam) on MNIST as the
``tf.keras`` "hello world" article does, prints the test accuracy and the
time per epoch, and writes the history plot to a PNG. Uses full MNIST when
it can be found locally, else the sample bundled with tinynn. The ``--help``
text is DESCRIPTION and EPILOG below (plain text: argparse prints it as is).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np


def build_model(tn):
    """The article's model (tinynn passed in so `import tinynn as tf` reads the same)."""
    model = tn.keras.models.Sequential(
        [
            tn.keras.layers.Flatten(input_shape=(28, 28)),
            tn.keras.layers.Dense(512, activation=tn.nn.relu),
            tn.keras.layers.Dense(256, activation=tn.nn.relu),
            tn.keras.layers.Dense(128, activation=tn.nn.relu),
            tn.keras.layers.Dense(10, activation=tn.nn.softmax),
        ]
    )
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


DESCRIPTION = """\
Train the tf.keras "hello world" article's MNIST model (Flatten-512-256-128-10,
ReLU, softmax, Adam), print the test accuracy and the time per epoch, and write
the loss and accuracy history to a PNG."""

EPILOG = """\
data: with --data DIR, the four MNIST IDX files (.gz or raw) in DIR or DIR/mnist.
Otherwise full MNIST is looked for where tinynn.datasets.mnist.load_data() and
the notebooks look: $TINYNN_DATASETS/mnist, ../shared/datasets/mnist (from the
current folder and from the clone), ~/.tinynn/datasets/mnist; a damaged folder
is skipped (and named); if none holds it, the 6,000-digit sample bundled with
tinynn is used and one line says where it looked and why each folder was
rejected. `tinynn download` fetches and verifies full MNIST (and
Fashion-MNIST) into ~/.tinynn/datasets."""


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def program_name() -> str:
    """How the user ran us: 'python -m tinynn' or the console script's name."""
    invoked = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if not invoked or invoked in ("__main__.py", "-m", "-c"):
        return "python -m tinynn"
    return invoked


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program_name(),
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    # TINYNN_EPOCHS lets a test or CI shorten the README's command without
    # changing its text.
    add(
        "--epochs",
        type=positive_int,
        default=None,
        help="epochs (default 10, or $TINYNN_EPOCHS)",
    )
    add("--batch-size", type=positive_int, default=32, help="batch size (default 32)")
    add("--seed", type=int, default=0, help="random seed (default 0)")
    add(
        "--threads",
        type=positive_int,
        default=None,
        help="kernel threads (default: all cores)",
    )
    add(
        "--plot",
        default="history.png",
        help="where to write the history plot (default history.png; '' for none)",
    )
    add(
        "--data",
        metavar="DIR",
        default=None,
        help="folder holding the MNIST files (see below)",
    )
    add(
        "--sample",
        action="store_true",
        help="use the bundled MNIST sample even if full MNIST is found",
    )
    add(
        "--verbose",
        type=int,
        default=1,
        choices=(0, 1, 2),
        help="progress: 0 silent, 1 bar, 2 one line per epoch",
    )
    return parser


def check_plot_target(parser: argparse.ArgumentParser, path: str) -> None:
    """Fail before training, not after it, when the plot cannot be written."""
    if not path:
        return
    folder = Path(path).resolve().parent
    if Path(path).is_dir():
        parser.error(
            f"--plot {path}: is a folder; give a file name such as history.png"
        )
    if not folder.is_dir():
        parser.error(f"--plot {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        parser.error(f"--plot {path}: folder {folder} is not writable")
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError as exc:
        parser.error(
            f"--plot needs matplotlib ({exc}); pip install matplotlib, or --plot ''"
        )
    suffix = Path(path).suffix.lstrip(".").lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix and suffix not in formats:
        parser.error(
            f"--plot {path}: matplotlib cannot write .{suffix} files; use one of "
            f"{', '.join(sorted(formats))}"
        )


def load_mnist(tn, parser: argparse.ArgumentParser, args: argparse.Namespace):
    """((x_train, y_train), (x_test, y_test)), saying where the digits came from."""
    mnist = tn.datasets.mnist
    if args.sample:
        data = mnist.load_sample()
        print(
            f"tinynn: using the bundled sample ({len(data[0][0])} train / "
            f"{len(data[1][0])} test digits), as --sample asks"
        )
        return data
    if args.data is not None:
        given = Path(args.data)
        for folder in (given, given / "mnist"):
            try:
                data = mnist.load_data(folder)
            except FileNotFoundError:
                continue
            except ValueError as exc:
                parser.error(f"--data {args.data}: {exc}")
            print(f"tinynn: MNIST from {folder}")
            return data
        parser.error(
            f"--data {args.data}: the four MNIST files (.gz or raw) are in neither "
            f"{given} nor {given / 'mnist'}"
        )
    try:
        data, folder, passed = mnist.search_data()
    except (FileNotFoundError, ValueError) as exc:
        data = mnist.load_sample()
        unset = (
            "" if os.environ.get("TINYNN_DATASETS") else "; TINYNN_DATASETS is not set"
        )
        print(
            f"tinynn: full MNIST not found ({exc}{unset}); using the bundled sample "
            f"({len(data[0][0])} train / {len(data[1][0])} test digits); pass "
            "--data DIR, or run `python -m tinynn download` for the full set"
        )
        return data
    for skipped, why in passed:
        if why.startswith("is damaged"):
            print(f"tinynn: skipped {skipped}: it {why}")
    print(f"tinynn: MNIST from {folder}")
    return data


def default_epochs(parser: argparse.ArgumentParser) -> int:
    """$TINYNN_EPOCHS, else 10; a bad value is blamed on the variable."""
    text = os.environ.get("TINYNN_EPOCHS")
    if text is None:
        return 10
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError as exc:
        parser.error(f"environment variable TINYNN_EPOCHS={text!r}: {exc}")
        raise  # not reached: parser.error exits


def download_main(argv: list[str]) -> int:
    """``tinynn download [mnist|fashion_mnist|all]``: fetch the full data
    sets into ~/.tinynn/datasets, checking each file's MD5 sum."""
    parser = argparse.ArgumentParser(
        prog=f"{program_name()} download",
        description="Download full MNIST and/or Fashion-MNIST into "
        "~/.tinynn/datasets (each file checked against its MD5 sum); files "
        "already there are checked and kept. TINYNN_DATASETS_URL overrides "
        "the download address.",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="{mnist,fashion_mnist,all}",
        help="which data sets (default mnist)",
    )
    args = parser.parse_args(argv)
    args.names = args.names or ["mnist"]
    for name in args.names:
        if name not in ("mnist", "fashion_mnist", "all"):
            parser.error(
                f"unknown data set {name!r}; expected mnist, fashion_mnist or all"
            )
    from tinynn.datasets import _loader, fashion_mnist, mnist

    chosen = {"mnist": [mnist.MNIST], "fashion_mnist": [fashion_mnist.FASHION_MNIST]}
    chosen["all"] = chosen["mnist"] + chosen["fashion_mnist"]
    datasets = []
    for name in args.names:
        datasets += [d for d in chosen[name] if d not in datasets]
    for dataset in datasets:
        try:
            files = _loader._cached_or_download(dataset)
            (x_train, _), (x_test, _) = _loader._load_files(files)
        except (ConnectionError, ValueError, OSError) as exc:
            print(f"tinynn download: {dataset.name}: {exc}", file=sys.stderr)
            return 1
        folder = next(iter(files.values())).parent
        print(
            f"tinynn download: {dataset.name}: {len(x_train)} train / "
            f"{len(x_test)} test images verified in {folder}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tinynn`` and of the ``tinynn`` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["download"]:
        return download_main(argv[1:])
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = default_epochs(parser)
    check_plot_target(parser, args.plot)

    import tinynn as tn

    if args.threads is not None:
        try:
            tn.set_num_threads(args.threads)
        except (ValueError, TypeError) as exc:
            parser.error(f"--threads {args.threads}: {exc}")
    tn.set_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_mnist(tn, parser, args)
    x_train, x_test = x_train / 255.0, x_test / 255.0

    model = build_model(tn)
    model.summary()
    try:
        history = model.fit(
            x_train,
            y_train,
            epochs=args.epochs,
            batch_size=args.batch_size,
            validation_data=(x_test, y_test),
            verbose=args.verbose,
        )
    except KeyboardInterrupt:
        return interrupted(tn, model, args.plot)
    started = time.perf_counter()
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    seconds = np.median(history.epoch_seconds)
    print(
        f"test accuracy: {accuracy:.4f} (loss {loss:.4f}); "
        f"time per epoch: {seconds:.2f} s (median of {len(history.epoch_seconds)}), "
        f"evaluate: {time.perf_counter() - started:.2f} s, threads: "
        f"{tn.get_num_threads()}"
    )
    if args.plot:
        tn.plot.history(history).savefig(args.plot, dpi=100)
        print(f"history plot written to {args.plot}")
    return 0


def interrupted(tn, model, plot: str) -> int:
    """Ctrl-C during fit: one line, and the plot of the finished epochs."""
    history = model.history
    done = len(history.epoch) if history is not None else 0
    note = ""
    if plot and done:
        tn.plot.history(history).savefig(plot, dpi=100)
        note = f"; history plot of them written to {plot}"
    print(f"\ntinynn: interrupted after {done} finished epoch(s){note}")
    return 130


if __name__ == "__main__":
    sys.exit(main())
