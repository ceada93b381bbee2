"""A plugin that fails to import: the sweep must say so in one line and exit 2."""

import jacbench_no_such_module  # noqa: F401
