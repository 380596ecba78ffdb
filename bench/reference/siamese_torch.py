"""The Siamese network and training step in PyTorch, shared by bench/reference/torch_bench.py
(CPU, against `gpu-train bench`) and scripts/gpu-torch.py (CUDA, against the OpenCL backend).

One training step: both branches through the shared encoder as one batch of 2B (left and right
concatenated), the head on |e1 - e2|, BCE-with-logits loss (mean), backward, Adam (lr 1e-4,
betas 0.9/0.999, eps 1e-7; fused when this torch has it for the device, else foreach), and the
loss read back to the host, as gpu-train's step does (on CUDA that waits for the step).
"""


def build(torch, channels, embedding, device="cpu"):
    """The encoder, the head, the Adam optimizer over both, and which Adam ran ("fused" or "foreach")."""
    nn = torch.nn
    c1, c2, c3, c4 = channels
    encoder = nn.Sequential(
        nn.Conv2d(1, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(c4 * 4 * 4, embedding), nn.Sigmoid(),
    ).to(device)
    head = nn.Linear(embedding, 1).to(device)
    params = list(encoder.parameters()) + list(head.parameters())
    try:
        return encoder, head, torch.optim.Adam(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-7, fused=True), "fused"
    except (RuntimeError, TypeError, ValueError):
        return encoder, head, torch.optim.Adam(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-7, foreach=True), "foreach"


def train_step(torch, encoder, head, opt, batch, device="cpu"):
    """A function that runs one training step on a fixed random batch of `batch` pairs."""
    F = torch.nn.functional
    left = torch.rand(batch, 1, 32, 32, device=device)
    right = torch.rand(batch, 1, 32, 32, device=device)
    labels = torch.randint(0, 2, (batch,), device=device).float()

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
