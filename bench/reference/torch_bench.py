#!/usr/bin/env python3
"""PyTorch (CPU, fp32) reference for `gpu-train bench`: the same Siamese network and
training step, in pairs/s and images/s.

The training step is siamese_torch.py's (shared with scripts/gpu-torch.py).
Inference: the encoder alone on 256 images, no autograd.

    .venv-bench/bin/python bench/reference/torch_bench.py [--json FILE]
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import siamese_torch  # noqa: E402


def main():
    started = time.perf_counter()
    args = harness.parse_args(__doc__.split("\n")[0])
    contention = harness.Contention()

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    encoder, head, opt, adam_kind = siamese_torch.build(torch, args.channels, args.embedding)

    def train_step_for(batch):
        return siamese_torch.train_step(torch, encoder, head, opt, batch)

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
