"""Four modes that misbehave, each its own way: the worker process must lose them, not the run.

Not measured by default (``default=False``): a test names them with --modes.
"""

import os
import signal
import time

import jacbench


def segfault(net, x):
    os.kill(os.getpid(), signal.SIGSEGV)


def aborts(net, x):
    os.abort()


def sleeps(net, x):
    time.sleep(3600)


def raises(net, x):
    raise RuntimeError("this mode always raises")


for name, fn in (("segfault", segfault), ("abort", aborts), ("sleep", sleeps),
                 ("raise", raises)):
    jacbench.register_mode(name, fn, algorithm="reverse", default=False,
                           summary=f"a mode that misbehaves: {name}")
