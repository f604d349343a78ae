"""Refuse names that would make a broken pack, before cookiecutter writes anything that stays.

`spark new-plugin` checks the same rules (spark.cli.new_plugin.check_names) before it calls cookiecutter; this hook
covers running the template with plain `cookiecutter`. Standard library only: it runs in a fresh interpreter.
"""

import keyword
import re
import sys

DISTRIBUTION = "{{ cookiecutter.distribution }}"
MODULE = "{{ cookiecutter.module_name }}"
COMPONENT = "{{ cookiecutter.component_name }}"
CLASS = "{{ cookiecutter.class_name }}"

problems = []
if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", DISTRIBUTION):
    problems.append(f"distribution name {DISTRIBUTION!r} is not a valid PEP 508 name (letters, digits, '-', '_', '.', "
                    "starting and ending with a letter or digit)")
if not MODULE.isidentifier() or keyword.iskeyword(MODULE) or MODULE in sys.stdlib_module_names or MODULE == "spark":
    problems.append(f"module name {MODULE!r} is not an importable name of its own (an identifier that is not a "
                    "keyword, a standard-library module or 'spark')")
if not re.fullmatch(r"[a-z][a-z0-9_]*", COMPONENT) or keyword.iskeyword(COMPONENT):
    problems.append(f"component name {COMPONENT!r} must be lower case letters, digits and _, starting with a letter")
if not CLASS.isidentifier() or keyword.iskeyword(CLASS):
    problems.append(f"class name {CLASS!r} is not a Python identifier")
if problems:
    sys.exit("spark pack template: " + "; ".join(problems))
