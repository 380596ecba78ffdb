#!/usr/bin/env python3
"""PyTorch (CPU, fp32) reference for `gpu-train bench`: the same Siamese network and
training step, in pairs/s and images/s.

One training step: both branches through the shared encoder as one batch of 2B
(left and right concatenated), the head on |e1 - e2|, BCE-with-logits loss (mean),
backward, Adam (lr 1e-4, betas 0.9/0.999, eps 1e-7; fused on CPU when this torch
has it, else foreach). Inference: the encoder alone on 256 images, no autograd.

    .venv-bench/bin/python bench/reference/torch_bench.py [--json FILE]
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    started = time.perf_counter()
    args = harness.parse_args(__doc__.split("\n")[0])
    contention = harness.Contention()

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    c1, c2, c3, c4 = args.channels

    encoder = nn.Sequential(
        nn.Conv2d(1, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(c4 * 4 * 4, args.embedding), nn.Sigmoid(),
    )
    head = nn.Linear(args.embedding, 1)
    params = list(encoder.parameters()) + list(head.parameters())

    adam_kind = "fused"
    try:
        opt = torch.optim.Adam(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-7, fused=True)
    except (RuntimeError, TypeError, ValueError):
        adam_kind = "foreach"
        opt = torch.optim.Adam(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-7, foreach=True)

    def train_step_for(batch):
        left = torch.rand(batch, 1, 32, 32)
        right = torch.rand(batch, 1, 32, 32)
        labels = torch.randint(0, 2, (batch,)).float()

        def step():
            e = encoder(torch.cat([left, right]))
            e1, e2 = e[:batch], e[batch:]
            logits = head((e1 - e2).abs()).view(batch)
            loss = F.binary_cross_entropy_with_logits(logits, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss.item()  # the step's result reaches the host, as gpu-train's does
        return step

    train = {}
    for batch in args.batches:
        train[batch] = harness.measure(train_step_for(batch), batch, args.repeats, args.min_seconds)
        print(f"train batch {batch}: {train[batch]['median']:.1f} pairs/s", flush=True)

    images = torch.rand(args.inference_batch, 1, 32, 32)

    def infer():
        with torch.inference_mode():
            encoder(images).sum().item()

    inference = harness.measure(infer, args.inference_batch, args.repeats, args.min_seconds)
    harness.report(f"pytorch {torch.__version__}", args, train, inference, started, contention,
                   extra={"adam": adam_kind})


if __name__ == "__main__":
    main()
