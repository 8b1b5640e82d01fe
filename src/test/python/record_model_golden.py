#!/usr/bin/python3
"""Records the float64 numerics golden for ShakeNet's Shake-Shake ResNet (dev.shakenet.nn.ShakeResNet).

What it records: a Shake-Shake-14 2x4d network (depth 14 -> 2 blocks per stage, widths 4, 8, 16,
strides 1, 2, 2, 10 classes), written here in plain PyTorch, independently of the Java code and
of bench/pytorch_reference.py, with a random (non-default) initial state so that every op is
exercised, then, in float64:

  input (6,3,32,32), target (6) int64
  init.<name>             every state_dict entry (parameters and buffers), state_dict order
  eval.logits             initial model, eval mode (running statistics, shake = 0.5), no grad
  shake.alpha.stage{s}.{i}, shake.beta.stage{s}.{i}   (6,1,1,1) per-image coefficients
  {even,shake}.logits     training-mode forward from the initial state (fresh copy per mode)
  {even,shake}.loss       0-d, F.cross_entropy (mean)
  {even,shake}.grad.<p>   gradient of every parameter
  {even,shake}.buffer.<b> every BatchNorm buffer after that forward (num_batches_tracked = 1)
  {even,shake}.step.<p>   every parameter after one SGD step (fresh optimizer: lr 0.1,
                          momentum 0.9, dampening 0, weight_decay 1e-4, nesterov)
  sgd.lr, sgd.momentum, sgd.weight_decay (0-d float64), sgd.nesterov (0-d int64, 1)

"even" uses alpha = beta = 0.5 for every block; "shake" uses the recorded alpha (forward) and beta
(backward), drawn independently from U(0,1), one per image. The shortcut's second path shifts the
map by dropping the first row/column and zero-padding the last row/column (right/bottom padding).

Before saving it asserts: a central finite-difference check (eps 1e-6) of the loss against
autograd for 3 scalar entries each of stem.conv.weight, stage2.0.branch1.conv2.weight and fc.bias
in shake mode with beta set equal to alpha (the only case where the shake backward is the true
derivative; that run is not recorded; candidate entries whose +-eps perturbation flips the sign
of some ReLU input are skipped, since the central difference straddles a kink there); that one
Nesterov SGD step matches its formula; that the even and shake logits differ; and that the file
stays under 1.5 MB.

Rerun from the repository root:

    /usr/bin/python3 src/test/python/record_model_golden.py

It (over)writes src/test/resources/dev/shakenet/nn/model-golden.pt: torch.save (zip format) of a
flat dict {str: tensor}, every tensor a contiguous clone with its own storage. It is
deterministic (fixed seed, one thread), so a rerun with the same PyTorch writes the same values.
"""
import copy
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join("src", "test", "resources", "dev", "shakenet", "nn", "model-golden.pt")
DEPTH, WIDTH, CLASSES, BATCH = 14, 4, 10, 6
LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.9, 1e-4
MAX_BYTES = 1_500_000

torch.manual_seed(20240601)
torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


RELU_SIGNS = None  # when a list, relu() appends the sign pattern of each input (kink detection)


def relu(x):
    if RELU_SIGNS is not None:
        RELU_SIGNS.append(x.detach() > 0)
    return F.relu(x)


class ShakeFunction(torch.autograd.Function):
    """out = alpha*a + (1-alpha)*b; backward grad_a = beta*g, grad_b = (1-beta)*g."""

    @staticmethod
    def forward(ctx, a, b, alpha, beta):
        ctx.save_for_backward(beta)
        return alpha * a + (1 - alpha) * b

    @staticmethod
    def backward(ctx, g):
        (beta,) = ctx.saved_tensors
        return beta * g, (1 - beta) * g, None, None


class Branch(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        h = self.bn1(self.conv1(relu(x)))
        return self.bn2(self.conv2(relu(h)))


class Shortcut(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        self.conv1 = nn.Conv2d(cin, cout // 2, 1, 1, 0, bias=False)
        self.conv2 = nn.Conv2d(cin, cout // 2, 1, 1, 0, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        s = self.stride
        h = relu(x)
        path1 = h[:, :, ::s, ::s]
        path2 = F.pad(h[:, :, 1:, 1:], (0, 1, 0, 1))[:, :, ::s, ::s]
        return self.bn(torch.cat([self.conv1(path1), self.conv2(path2)], dim=1))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.branch1 = Branch(cin, cout, stride)
        self.branch2 = Branch(cin, cout, stride)
        self.shortcut = Shortcut(cin, cout, stride) if cin != cout else None
        self.coefficients = None  # (alpha, beta), each (N,1,1,1); set before a training forward

    def forward(self, x):
        a, b = self.branch1(x), self.branch2(x)
        if self.training:
            alpha, beta = self.coefficients
            y = ShakeFunction.apply(a, b, alpha, beta)
        else:
            y = 0.5 * (a + b)
        return (x if self.shortcut is None else self.shortcut(x)) + y


class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)

    def forward(self, x):
        return self.bn(self.conv(x))


class Net(nn.Module):
    def __init__(self, depth, width, classes):
        super().__init__()
        n = (depth - 2) // 6
        self.stem = Stem()
        cin = 16
        for s, stride in enumerate((1, 2, 2)):
            cout = width << s
            stage = nn.Sequential(*[Block(cin if i == 0 else cout, cout, stride if i == 0 else 1) for i in range(n)])
            self.add_module(f"stage{s + 1}", stage)
            cin = cout
        self.fc = nn.Linear(cin, classes)

    def blocks(self):
        for s in (1, 2, 3):
            for i, block in enumerate(getattr(self, f"stage{s}")):
                yield f"stage{s}.{i}", block

    def forward(self, x):
        h = self.stem(x)
        h = self.stage3(self.stage2(self.stage1(h)))
        return self.fc(relu(h).mean(dim=(2, 3)))


def random_init(net):
    """Non-default random state (see module docstring), drawn in module order."""
    with torch.no_grad():
        for name, m in net.named_modules():
            if isinstance(m, nn.Conv2d):
                k = m.kernel_size[0] * m.kernel_size[1]
                m.weight.normal_(0, math.sqrt(2.0 / (k * m.out_channels)))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.zero_()
            elif isinstance(m, nn.Linear):
                m.weight.normal_(0, 0.1)
                m.bias.normal_(0, 0.1)


def unravel(flat, shape):
    idx = []
    for size in reversed(shape):
        idx.append(flat % size)
        flat //= size
    return tuple(reversed(idx))


def set_coefficients(net, coefficients):
    for name, block in net.blocks():
        block.coefficients = coefficients[name]


def loss_of(net, x, target):
    logits = net(x)
    return logits, F.cross_entropy(logits, target)


def save(golden, key, value):
    assert key not in golden, key
    golden[key] = value.detach().clone().contiguous()


def main():
    net = Net(DEPTH, WIDTH, CLASSES).to(torch.float64)
    random_init(net)
    param_names = [n for n, _ in net.named_parameters()]
    buffer_names = [n for n, _ in net.named_buffers()]
    state_names = list(net.state_dict().keys())

    x = torch.randn(BATCH, 3, 32, 32, dtype=torch.float64)
    target = torch.tensor([3, 7, 0, 3, 9, 1], dtype=torch.int64)
    assert len(set(target.tolist())) >= 3

    block_names = [name for name, _ in net.blocks()]
    half = torch.full((BATCH, 1, 1, 1), 0.5, dtype=torch.float64)
    even = {name: (half, half) for name in block_names}
    shake = {}
    for name in block_names:
        alpha = torch.rand(BATCH, 1, 1, 1, dtype=torch.float64)
        beta = torch.rand(BATCH, 1, 1, 1, dtype=torch.float64)
        shake[name] = (alpha, beta)

    golden = {}
    save(golden, "input", x)
    save(golden, "target", target)
    for name, value in net.state_dict().items():
        save(golden, "init." + name, value)

    initial = copy.deepcopy(net.state_dict())

    # Eval mode: running statistics, shake 0.5.
    net.eval()
    with torch.no_grad():
        eval_logits = net(x)
    save(golden, "eval.logits", eval_logits)
    for name, value in net.state_dict().items():  # eval must not have changed anything
        assert torch.equal(value, initial[name]), name

    for name in block_names:
        save(golden, f"shake.alpha.{name}", shake[name][0])
        save(golden, f"shake.beta.{name}", shake[name][1])

    logits_of = {}
    grads_of = {}
    for mode, coefficients in (("even", even), ("shake", shake)):
        model = Net(DEPTH, WIDTH, CLASSES).to(torch.float64)
        model.load_state_dict(initial)
        model.train()
        set_coefficients(model, coefficients)
        logits, loss = loss_of(model, x, target)
        loss.backward()
        logits_of[mode] = logits.detach()
        save(golden, f"{mode}.logits", logits)
        save(golden, f"{mode}.loss", loss)
        params = dict(model.named_parameters())
        grads_of[mode] = {n: params[n].grad.detach().clone() for n in param_names}
        for n in param_names:
            save(golden, f"{mode}.grad.{n}", params[n].grad)
        buffers = dict(model.named_buffers())
        for n in buffer_names:
            if n.endswith("num_batches_tracked"):
                assert buffers[n].item() == 1, n
            save(golden, f"{mode}.buffer.{n}", buffers[n])
        optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, dampening=0,
                                    weight_decay=WEIGHT_DECAY, nesterov=True)
        optimizer.step()
        for n in param_names:
            save(golden, f"{mode}.step.{n}", params[n])
        # Independent restatement of the first Nesterov step (momentum buffer = d_p).
        for n in param_names:
            p0 = initial[n]
            d = grads_of[mode][n] + WEIGHT_DECAY * p0
            expected = p0 - LR * (d + MOMENTUM * d)
            assert torch.allclose(params[n].detach(), expected, rtol=0, atol=1e-14), n

    save(golden, "sgd.lr", torch.tensor(LR, dtype=torch.float64))
    save(golden, "sgd.momentum", torch.tensor(MOMENTUM, dtype=torch.float64))
    save(golden, "sgd.weight_decay", torch.tensor(WEIGHT_DECAY, dtype=torch.float64))
    save(golden, "sgd.nesterov", torch.tensor(1, dtype=torch.int64))

    # (a) Finite differences of the full training loss, shake mode with beta = alpha. ReLU is not
    # differentiable at 0: an entry whose +-eps perturbation flips the sign of any ReLU input
    # straddles a kink, where the central difference is not the derivative, so it is skipped
    # (printed) and the next candidate is used; each parameter needs 3 kink-free entries.
    global RELU_SIGNS
    keep = {name: (alpha, alpha) for name, (alpha, _) in shake.items()}
    model = Net(DEPTH, WIDTH, CLASSES).to(torch.float64)
    model.load_state_dict(initial)
    model.train()
    set_coefficients(model, keep)
    RELU_SIGNS = []
    _, loss = loss_of(model, x, target)
    base_signs, RELU_SIGNS = RELU_SIGNS, None
    loss.backward()
    params = dict(model.named_parameters())
    eps = 1e-6

    def perturbed_loss(p, idx, value):
        global RELU_SIGNS
        with torch.no_grad():
            original = p[idx].item()
            p[idx] = value
            RELU_SIGNS = []
            result = loss_of(model, x, target)[1].item()
            signs, RELU_SIGNS = RELU_SIGNS, None
            p[idx] = original
        smooth = all(torch.equal(a, b) for a, b in zip(signs, base_signs))
        return result, smooth

    for n in ("stem.conv.weight", "stage2.0.branch1.conv2.weight", "fc.bias"):
        p = params[n]
        generator = torch.Generator().manual_seed(7)
        candidates = torch.randperm(p.numel(), generator=generator)[:12].tolist()
        checked = 0
        for flat in candidates:
            idx = unravel(flat, p.shape)
            analytic = p.grad[idx].item()
            original = p[idx].item()
            plus, smooth_plus = perturbed_loss(p, idx, original + eps)
            minus, smooth_minus = perturbed_loss(p, idx, original - eps)
            numeric = (plus - minus) / (2 * eps)
            error = abs(numeric - analytic)
            if not (smooth_plus and smooth_minus):
                print(f"fd {n}{list(idx)}: skipped, a ReLU input changes sign within +-eps "
                      f"(analytic {analytic:+.10e} numeric {numeric:+.10e})")
                continue
            assert error <= 1e-8 + 1e-6 * abs(analytic), (n, idx, analytic, numeric)
            print(f"fd {n}{list(idx)}: analytic {analytic:+.10e} numeric {numeric:+.10e} |diff| {error:.2e}")
            checked += 1
            if checked == 3:
                break
        assert checked == 3, f"fewer than 3 kink-free entries of {n}"
    # The recorded shake gradients (beta != alpha) must differ from the true gradient somewhere
    # below the last block, and the fc gradient (after every shake) must be the same.
    assert not torch.allclose(grads_of["shake"]["stem.conv.weight"], params["stem.conv.weight"].grad)
    assert torch.allclose(grads_of["shake"]["fc.weight"], params["fc.weight"].grad, rtol=0, atol=1e-15)

    # (b) even and shake logits differ.
    assert (logits_of["even"] - logits_of["shake"]).abs().max().item() > 1e-3

    # Every value a flat tensor entry with its own storage.
    assert all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in golden.items())
    for k, v in golden.items():
        assert v.is_contiguous() and v.storage_offset() == 0 and v.storage().size() == v.numel(), k
        assert v.dtype in (torch.float64, torch.int64), k
        assert not v.requires_grad, k

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    torch.save(golden, OUT)
    size = os.path.getsize(OUT)
    # (c) file size.
    assert size < MAX_BYTES, size

    for k, v in golden.items():
        print(f"{k} {tuple(v.shape)} {str(v.dtype).replace('torch.', '')}")
    print(f"{len(golden)} tensors, {len(state_names)} state entries ({len(param_names)} parameters, "
          f"{len(buffer_names)} buffers), {size} bytes -> {OUT}")


if __name__ == "__main__":
    if not os.path.isdir(os.path.join("src", "test", "resources")):
        sys.exit("run from the repository root: /usr/bin/python3 src/test/python/record_model_golden.py")
    main()
