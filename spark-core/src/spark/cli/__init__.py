"""The ``spark`` command line. Packs add commands through the ``spark_cli_commands`` hook."""

from __future__ import annotations

import click

from .._version import __version__


class _SparkGroup(click.Group):
    """A group that adds the commands packs contribute, once, when the command line is used."""

    _plugins_loaded = False

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from ..registry import default_registry

        reg = default_registry()
        for dist, cmd in reg.cli_commands:
            if not isinstance(cmd, click.Command) or not cmd.name:
                click.echo(f"spark: pack {dist} returned {cmd!r} from spark_cli_commands, not a click command; "
                           "skipped", err=True)
            elif cmd.name in self.commands:
                click.echo(f"spark: pack {dist} adds a command {cmd.name!r} that already exists; skipped", err=True)
            else:
                self.add_command(cmd)

    def list_commands(self, ctx):
        self._load_plugins()
        return super().list_commands(ctx)

    def get_command(self, ctx, name):
        if name not in self.commands:
            self._load_plugins()
        return super().get_command(ctx, name)

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name in _PACK_COMMANDS and self.get_command(ctx, name) is None:
            dist, extra = _PACK_COMMANDS[name]
            ctx.fail(f"`spark {name}` comes with {dist}, which is not installed; install it: "
                     f"pip install {dist}{extra} (or, from a checkout: pip install -e ./{dist})")
        return super().resolve_command(ctx, args)


# commands that Spark's own packs add (spark_cli_commands hook): when missing, say which pack to install
_PACK_COMMANDS = {"editor": ("spark-editor", ""), "digits": ("spark-interfaces", "[digits]")}


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from ..registry import default_registry

    click.echo(f"spark-core {__version__}")
    for pack in default_registry().packs:
        status = "" if pack.status == "ok" else f" ({pack.status}: {pack.error})"
        click.echo(f"{pack.distribution} {pack.version}{status}")
    ctx.exit()


@click.group(cls=_SparkGroup, invoke_without_command=True)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show spark-core's version and every installed pack's, then exit.")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Spark: modular spiking neural networks on JAX."""
    if ctx.invoked_subcommand is None:  # bare `spark`: the help, and success
        click.echo(ctx.get_help())
        ctx.exit(0)


from . import list_components as _list_components  # noqa: E402,F401  (each module registers its command)
from . import new_plugin as _new_plugin  # noqa: E402,F401
from . import nir as _nir  # noqa: E402,F401
from . import plot as _plot  # noqa: E402,F401
from . import run as _run  # noqa: E402,F401
from . import validate as _validate  # noqa: E402,F401
