"""``python -m tinynn`` / ``tinynn``: the Keras article's model, end to end.

Trains Flatten-512-256-128-10 (ReLU, softmax, Adam) on MNIST as the
``tf.keras`` "hello world" article does, prints the test accuracy and the
time per epoch, and writes the history plot to a PNG. Uses full MNIST when
it can be found locally, else the sample bundled with tinynn.
"""

from __future__ import annotations

import argparse
import sys
import time

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


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tinynn``."""
    import tinynn as tn

    parser = argparse.ArgumentParser(
        prog="python -m tinynn", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--epochs", type=int, default=10, help="epochs (default 10)")
    parser.add_argument(
        "--batch-size", type=int, default=32, help="batch size (default 32)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--threads", type=int, default=None, help="kernel threads")
    parser.add_argument(
        "--plot",
        default="history.png",
        help="where to write the history plot ('' for none)",
    )
    parser.add_argument(
        "--sample",
        action="store_true",
        help="use the bundled MNIST sample even if full MNIST is found",
    )
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be positive")
    if args.threads is not None:
        tn.set_num_threads(args.threads)
    tn.set_seed(args.seed)

    if args.sample:
        data, is_sample = tn.datasets.mnist.load_sample(), True
    else:
        data, is_sample = tn.datasets.mnist.load_data_or_sample()
    (x_train, y_train), (x_test, y_test) = data
    if is_sample:
        print(
            f"tinynn: full MNIST not found, using the bundled sample "
            f"({len(x_train)} train / {len(x_test)} test digits); set TINYNN_DATASETS "
            "or see README.md for the full set"
        )
    x_train, x_test = x_train / 255.0, x_test / 255.0

    model = build_model(tn)
    model.summary()
    history = model.fit(
        x_train,
        y_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_data=(x_test, y_test),
        verbose=args.verbose,
    )
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
        try:
            figure = tn.plot.history(history)
        except ImportError as exc:
            print(f"tinynn: no plot written ({exc})", file=sys.stderr)
        else:
            figure.savefig(args.plot, dpi=100)
            print(f"history plot written to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
