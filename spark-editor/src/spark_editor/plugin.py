"""Entry point of spark-editor: contributes the `spark editor` command through the plugin hook."""

import spark


@spark.hookimpl
def spark_cli_commands():
    from .cli import editor

    return [editor]
