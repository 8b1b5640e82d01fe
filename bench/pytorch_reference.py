#!/usr/bin/env python3
"""The same Shake-Shake training step in PyTorch from Python, timed like `shakenet bench`.

What a researcher would otherwise run: the model of PAPER.md (as dev.shakenet.nn.ShakeResNet
builds it), SGD with Nesterov momentum, cross-entropy, optionally channels_last and bf16
autocast, on the same libtorch (Debian's python3-torch here). Prints one JSON object with the
model step's images/s (median, min, max over timed steps) and its peak resident memory.
Used by bench/compare.sh; not a dependency of ShakeNet.
"""
import argparse, json, math, resource, statistics, time

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--depth", type=int, default=26)
p.add_argument("--width", type=int, default=32)
p.add_argument("--batch", type=int, default=128)
p.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
p.add_argument("--memory-format", choices=["contiguous", "channels_last"], default="contiguous")
p.add_argument("--threads", type=int, default=0)
p.add_argument("--device", default="cpu")
p.add_argument("--steps", type=int, default=20)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--profile", type=int, default=0, metavar="N",
               help="after the timing, profile N more steps with torch.profiler and print the top ops by self time to stderr")
a = p.parse_args()

torch.set_num_threads(a.threads or torch.get_num_threads())
if a.threads == 0:
    import os
    torch.set_num_threads(os.cpu_count())
torch.manual_seed(0)
device = torch.device(a.device)


class Shake(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x1, x2):
        alpha = torch.rand(x1.size(0), 1, 1, 1, dtype=x1.dtype, device=x1.device)
        return torch.lerp(x2, x1, alpha)

    @staticmethod
    def backward(ctx, g):
        beta = torch.rand(g.size(0), 1, 1, 1, dtype=g.dtype, device=g.device)
        ga = g * beta
        return ga, g - ga


def branch(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.branch1, self.branch2 = branch(cin, cout, stride), branch(cin, cout, stride)
        self.stride, self.project = stride, cin != cout
        if self.project:
            self.conv1 = nn.Conv2d(cin, cout // 2, 1, bias=False)
            self.conv2 = nn.Conv2d(cin, cout // 2, 1, bias=False)
            self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        h = F.relu(x)
        a, b = self.branch1(h), self.branch2(h)
        y = Shake.apply(a, b) if self.training else 0.5 * (a + b)
        if not self.project:
            return y + x
        s = self.stride
        p1 = h if s == 1 else F.avg_pool2d(h, 1, s)
        shifted = F.pad(h[:, :, 1:, 1:], (0, 1, 0, 1))
        p2 = shifted if s == 1 else F.avg_pool2d(shifted, 1, s)
        return y + self.bn(torch.cat([self.conv1(p1), self.conv2(p2)], 1))


class ShakeResNet(nn.Module):
    def __init__(self, depth, width):
        super().__init__()
        n = (depth - 2) // 6
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16))
        blocks, cin = [], 16
        for i, stride in enumerate([1, 2, 2]):
            for j in range(n):
                blocks.append(Block(cin, width << i, stride if j == 0 else 1))
                cin = width << i
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(F.relu(self.blocks(self.stem(x))), 1).flatten(1))


net = ShakeResNet(a.depth, a.width).to(device)
fmt = torch.channels_last if a.memory_format == "channels_last" else torch.contiguous_format
net = net.to(memory_format=fmt)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
scaler = torch.cuda.amp.GradScaler() if a.precision == "fp16" else None
x = torch.randn(a.batch, 3, 32, 32, device=device).contiguous(memory_format=fmt)
y = torch.randint(0, 10, (a.batch,), device=device)
amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(a.precision)


def step():
    with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        logits = net(x)
    loss = F.cross_entropy(logits.float(), y)
    opt.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        opt.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    if device.type == "cuda":
        torch.cuda.synchronize()


times = []
for i in range(a.warmup + a.steps):
    t = time.perf_counter()
    step()
    if i >= a.warmup:
        times.append(time.perf_counter() - t)
rates = [a.batch / t for t in times]
out = {
    "framework": "pytorch (python)", "torch": torch.__version__, "model": f"Shake-Shake-{a.depth} 2x{a.width}d",
    "device": str(device), "precision": a.precision, "memory_format": a.memory_format, "threads": torch.get_num_threads(),
    "batch_size": a.batch, "timed_steps": a.steps, "warmup_steps": a.warmup,
    "parameters": sum(p.numel() for p in net.parameters()),
    "model_step": {"images_per_second": {"median": statistics.median(rates), "min": min(rates), "max": max(rates)},
                   "step_seconds": {"median": statistics.median(times), "min": min(times), "max": max(times)}},
    "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}
if device.type == "cuda":
    out["peak_device_bytes"] = torch.cuda.max_memory_allocated()
print(json.dumps(out, indent=2))

if a.profile:
    # Where the step's time goes, per op, on the same libtorch ShakeNet calls.
    import sys
    with torch.profiler.profile(record_shapes=True) as prof:
        for _ in range(a.profile):
            step()
    print(prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=25), file=sys.stderr)
