"""A mode that leaves the device unusable, as a CUDA error does, on any machine.

``poison`` raises and marks this worker's device lost (``jacbench.run.worker.device_usable``
then says so, as it would after a sticky CUDA error); ``victim``, run after it, fails only in a
worker whose device was lost. Not measured by default: a test names them with --modes.
"""

import jacbench
from jacbench.modes.handwritten import reverse_jacobian
from jacbench.run import worker

lost = False


def poison(net, x):
    global lost
    lost = True
    raise RuntimeError("CUDA error: an illegal memory access was encountered")


def victim(net, x):
    if lost:
        raise RuntimeError("CUDA error: an illegal memory access was encountered (earlier)")
    return reverse_jacobian(net, x)


worker.device_usable = lambda device: not lost
jacbench.register_mode("poison", poison, algorithm="reverse", default=False)
jacbench.register_mode("victim", victim, algorithm="reverse", default=False)
