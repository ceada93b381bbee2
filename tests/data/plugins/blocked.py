"""A user's own mode, as the README shows it: reverse mode in blocks of adjoint rows.

One forward pass, then the P adjoint rows pulled back ``BLOCK`` at a time (torch.autograd.grad,
batched over the block) instead of all at once: less memory at a time for a large P, the same
multiply-adds as reverse mode, so it registers as the "reverse" algorithm and is estimated and
predicted as reverse mode.
"""

import torch

import jacbench

BLOCK = 2


def blocked_reverse(net, x):
    xs = (x.unsqueeze(0) if x.dim() == 1 else x).detach().requires_grad_(True)
    y = net(xs)  # (N, P)
    N, P = y.shape
    blocks = []
    for start in range(0, P, BLOCK):
        rows = torch.arange(start, min(start + BLOCK, P), device=y.device)
        seeds = torch.zeros(len(rows), N, P, dtype=y.dtype, device=y.device)
        seeds[torch.arange(len(rows)), :, rows] = 1  # one adjoint row per seed, every sample
        (g,) = torch.autograd.grad(y, xs, seeds, retain_graph=True, is_grads_batched=True)
        blocks.append(g)  # (rows, N, D)
    J = torch.cat(blocks).transpose(0, 1)  # (N, P, D)
    return J[0] if x.dim() == 1 else J


jacbench.register_mode("blocked-reverse", blocked_reverse, algorithm="reverse",
                       summary=f"reverse mode, {BLOCK} adjoint rows at a time")
