"""Entry point of spark-editor: contributes the `spark editor` command through the plugin hook."""
