"""Entry point of spark-editor: contributes the `spark editor` and `spark view` commands through the plugin hook."""

import spark


@spark.hookimpl
def spark_cli_commands():
    from .cli import editor, view

    return [editor, view]
