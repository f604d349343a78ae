"""{{ cookiecutter.class_name }}: time-to-first-spike (latency) encoder."""

from __future__ import annotations

import jax.numpy as jnp

import spark
from spark.timing import step_at, to_steps


@spark.params
class {{ cookiecutter.class_name }}Params:
    t_max: float = spark.param(20.0, unit="ms", doc="latency of the weakest value (a value of 1 spikes at once)", gt=0)
    period: float = spark.param(50.0, unit="ms", doc="presentation period: the code repeats every period "
                                "(latencies of period or more are never emitted)", gt=0)
    threshold: float = spark.param(0.0, doc="values at or below it never spike", ge=0, lt=1)


class {{ cookiecutter.class_name }}(spark.Encoder):
    """Latency code: each value spikes once per presentation period, the larger the earlier.

    Values are clipped to [0, 1] (NaN reads as 0). Element ``k`` spikes at its latency ``t_k = (1 - x_k) t_max``
    after the start of each period: in the step that ends then, step

        n_k = max(round(t_k / dt) - 1, 0)        (rounded half up: spark.timing.step_at)

    counted from the start of each period of ``round(period / dt)`` steps, the first period starting with the first
    step, so by Spark's rule of time (step ``n`` is stamped ``(n + 1) dt``) the spike is stamped ``t_k``; values
    ``<= threshold`` stay silent. The code is deterministic: one spike per element and period, carrying
    the value in its timing (Thorpe, Delorme & Van Rullen 2001, Neural Networks 14:715). The value is read in the
    step the spike is due, so hold the data constant over a period for a clean code.

    Ports:
        data (in, Signal): values in [0, 1], shape ``shape``.
        spikes (out, Spikes): the latency-coded spikes, shape ``shape``.
    """

    name = "{{ cookiecutter.component_name }}"
    Params = {{ cookiecutter.class_name }}Params
    inputs = {"data": spark.Port(spark.Signal, "values in [0, 1] (1 spikes first)", warn_unconnected=True)}
    outputs = {"spikes": spark.Port(spark.Spikes, "latency-coded spikes")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.phase = spark.State(jnp.zeros((), jnp.int32))  # steps since the current period started

    def __call__(self, *, dt, data):
        p = self.params
        n_period = max(1, to_steps(p.period, dt))
        x = jnp.clip(jnp.nan_to_num(data, nan=0.0), 0.0, 1.0)
        due = jnp.maximum(step_at((1.0 - x) * p.t_max, dt), 0).astype(jnp.int32)
        phase = self.phase[...]
        spikes = (x > p.threshold) & (due == phase)
        self.phase[...] = (phase + 1) % n_period
        return {"spikes": spikes}
