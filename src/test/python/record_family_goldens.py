#!/usr/bin/python3
"""Records float64 numerics goldens for ShakeNet's two newer model families:

  pyramidnet-basic-golden.pt       PyramidNet-8  (basic blocks,      alpha 12) with ShakeDrop
  pyramidnet-bottleneck-golden.pt  PyramidNet-11 (bottleneck blocks, alpha 12) with ShakeDrop
  resnext-golden.pt                Shake-Shake ResNeXt-29 2x2x2d, stem width 4, 10 classes

(all under src/test/resources/dev/shakenet/nn/, read by dev.shakenet.nn.FamilyGoldenTest).

The models are written here in plain PyTorch from the papers (Han et al. 2017, "Deep Pyramidal
Residual Networks"; Yamada et al. 2018, "ShakeDrop Regularization"; Gastaldi 2017,
"Shake-Shake regularization", its CIFAR-100 ResNeXt-29 2x4x64d) and the parameter layout the Java
classes document (their javadoc name lists), not by calling into ShakeNet:

  PyramidNet: stem conv3x3 3->16 + BN; 3 stages of n blocks (n = (depth-2)/6 basic, /9 bottleneck),
    stride 2 on the first block of stages 2 and 3; block k = 1..L (L = 3n) has width
    floor(16 + k*alpha/L) (bottleneck output 4x); branch basic BN-conv3x3(stride)-BN-ReLU-conv3x3-BN,
    bottleneck BN-conv1x1-BN-ReLU-conv3x3(stride)-BN-ReLU-conv1x1-BN; shortcut: identity or 2x2
    average pooling, then zero channels appended; y = shortcut(x) + ShakeDrop(branch(x)), no ReLU;
    head BN-ReLU-global average pool-linear. ShakeDrop with survival p_k = 1 - (k/L)*0.5:
    training forward (gate + alpha - gate*alpha)*f, backward (gate + beta - gate*beta)*g, with
    gate ~ Bernoulli(p_k), alpha ~ U(-1,1), beta ~ U(0,1) per image; evaluation p_k*f.
  ResNeXt: stem conv3x3 3->B + BN + ReLU; 3 stages of 3 blocks, strides 1,2,2, stage s output
    4B*2^s, bottleneck width C*d*2^s; block ReLU(shortcut(x) + shake(branch1(x), branch2(x))),
    branch conv1x1-BN-ReLU-grouped conv3x3 (C groups, stride)-BN-ReLU-conv1x1-BN, shortcut
    conv1x1(stride)+BN on each stage's first block, else identity; head global average pool-linear.
    Shake: forward alpha*a + (1-alpha)*b, backward beta*g and (1-beta)*g; evaluation 0.5/0.5.

Each file holds, in float64 (random non-default weights and BN statistics, fixed seed):

  input (6,3,16,16), target (6) int64
  init.<name>                every state_dict entry, state_dict order (names as ShakeNet's)
  eval.logits                evaluation mode (running statistics, expected coefficients), no grad
  coefficients               PyramidNet: shakedrop.{gate,alpha,beta}.<k> (6,1,1,1) for block k = 1..L
                             (each block has at least one dropped and one kept image);
                             ResNeXt: shake.{alpha,beta}.stage{s}.{i} (6,1,1,1), U(0,1)
  train.logits, train.loss   training-mode forward with those coefficients, F.cross_entropy (mean)
  train.grad.<parameter>     every parameter's gradient after backward
  train.buffer.<buffer>      every BatchNorm buffer after that forward (num_batches_tracked = 1)

Before saving it asserts: gradcheck of both custom autograd functions in the one case where
their backward is the true derivative (beta = alpha; ShakeDrop with alpha in [0,1]); that with
beta != alpha the backward uses beta; that eval and training logits differ; that the files stay
under 1 MB.

Rerun from the repository root (deterministic: fixed seed, one thread):

    /usr/bin/python3 src/test/python/record_family_goldens.py

Optional: check that the state dicts ShakeNet itself builds load strictly into these modules
(same names, same shapes, nothing missing or unexpected). Export them first with

    mvn -B -q test -Dtest=FamilyGoldenTest#exportsFreshStateDicts -Dshakenet.familyExport=/tmp/family-export

(it writes <name>.state.pt there, e.g. resnext.state.pt; add -Dshakenet.library=... as usual), then

    /usr/bin/python3 src/test/python/record_family_goldens.py --check-java /tmp/family-export

which records nothing and only runs load_state_dict(strict=True) on each exported file.
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT_DIR = os.path.join("src", "test", "resources", "dev", "shakenet", "nn")
BATCH, CLASSES = 6, 10
SIZE = 16  # 16x16 images (the models take any even size; 32x32 would triple the files)
MAX_BYTES = 1_000_000
LAST_SURVIVAL = 0.5

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


# ---------------------------------------------------------------------------------------------
# Custom autograd functions (forward and backward coefficients differ)

class ShakeDropFunction(torch.autograd.Function):
    """forward (gate + alpha - gate*alpha) * f; backward (gate + beta - gate*beta) * g."""

    @staticmethod
    def forward(ctx, f, gate, alpha, beta):
        ctx.save_for_backward(gate, beta)
        return (gate + alpha - gate * alpha) * f

    @staticmethod
    def backward(ctx, g):
        gate, beta = ctx.saved_tensors
        return (gate + beta - gate * beta) * g, None, None, None


class ShakeShakeFunction(torch.autograd.Function):
    """forward alpha*a + (1-alpha)*b; backward beta*g, (1-beta)*g."""

    @staticmethod
    def forward(ctx, a, b, alpha, beta):
        ctx.save_for_backward(beta)
        return alpha * a + (1 - alpha) * b

    @staticmethod
    def backward(ctx, g):
        (beta,) = ctx.saved_tensors
        return beta * g, (1 - beta) * g, None, None


# ---------------------------------------------------------------------------------------------
# PyramidNet with ShakeDrop

class Stem(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)


class PyramidBlock(nn.Module):
    def __init__(self, cin, width, stride, bottleneck, survival):
        super().__init__()
        self.stride, self.survival, self.bottleneck = stride, survival, bottleneck
        self.coefficients = None  # (gate, alpha, beta), each (N,1,1,1); set before a training forward
        if bottleneck:
            self.out = 4 * width
            self.bn1 = nn.BatchNorm2d(cin)
            self.conv1 = nn.Conv2d(cin, width, 1, 1, 0, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, self.out, 1, 1, 0, bias=False)
            self.bn4 = nn.BatchNorm2d(self.out)
        else:
            self.out = width
            self.bn1 = nn.BatchNorm2d(cin)
            self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(width)

    def branch(self, x):
        if self.bottleneck:
            h = self.bn2(self.conv1(self.bn1(x)))
            h = self.bn3(self.conv2(F.relu(h)))
            return self.bn4(self.conv3(F.relu(h)))
        h = self.bn2(self.conv1(self.bn1(x)))
        return self.bn3(self.conv2(F.relu(h)))

    def forward(self, x):
        f = self.branch(x)
        if self.training:
            gate, alpha, beta = self.coefficients
            g = ShakeDropFunction.apply(f, gate, alpha, beta)
        else:
            g = self.survival * f
        s = x if self.stride == 1 else F.avg_pool2d(x, 2, 2)
        missing = self.out - s.shape[1]
        if missing:
            s = torch.cat([s, s.new_zeros(s.shape[0], missing, s.shape[2], s.shape[3])], dim=1)
        return s + g


class PyramidNet(nn.Module):
    def __init__(self, depth, alpha, bottleneck, classes):
        super().__init__()
        n = (depth - 2) // (9 if bottleneck else 6)
        total = 3 * n
        self.stem = Stem(16)
        self.stages = nn.ModuleList()
        cin = 16
        for s in range(3):
            stage = nn.Sequential()
            for i in range(n):
                k = s * n + i + 1
                width = 16 + math.floor(k * alpha / total)
                survival = 1 - k / total * (1 - LAST_SURVIVAL)
                block = PyramidBlock(cin, width, 2 if s > 0 and i == 0 else 1, bottleneck, survival)
                stage.add_module(str(i), block)
                cin = block.out
            self.stages.append(stage)
        self.final_bn = nn.BatchNorm2d(cin)
        self.fc = nn.Linear(cin, classes)

    def blocks(self):
        k = 0
        for stage in self.stages:
            for block in stage:
                k += 1
                yield str(k), block

    def forward(self, x):
        h = self.stem.bn(self.stem.conv(x))
        for stage in self.stages:
            h = stage(h)
        return self.fc(F.relu(self.final_bn(h)).mean(dim=(2, 3)))


# ---------------------------------------------------------------------------------------------
# Shake-Shake ResNeXt-29

class Branch(nn.Module):
    def __init__(self, cin, width, cout, cardinality, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, 1, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, 1, 0, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        return self.bn3(self.conv3(h))


class Shortcut(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, stride, 0, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class ResNeXtBlock(nn.Module):
    def __init__(self, cin, width, cout, cardinality, stride):
        super().__init__()
        self.branch1 = Branch(cin, width, cout, cardinality, stride)
        self.branch2 = Branch(cin, width, cout, cardinality, stride)
        self.shortcut = Shortcut(cin, cout, stride) if cin != cout or stride != 1 else None
        self.coefficients = None  # (alpha, beta), each (N,1,1,1)

    def forward(self, x):
        a, b = self.branch1(x), self.branch2(x)
        if self.training:
            alpha, beta = self.coefficients
            y = ShakeShakeFunction.apply(a, b, alpha, beta)
        else:
            y = 0.5 * a + 0.5 * b
        return F.relu((x if self.shortcut is None else self.shortcut(x)) + y)


class ResNeXtStem(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class ShakeResNeXt(nn.Module):
    def __init__(self, cardinality, group_width, base, classes):
        super().__init__()
        self.stem = ResNeXtStem(base)
        cin = base
        for s in range(3):
            cout = 4 * base << s
            width = cardinality * (group_width << s)
            stride = 1 if s == 0 else 2
            stage = nn.Sequential(*[ResNeXtBlock(cin if i == 0 else cout, width, cout, cardinality, stride if i == 0 else 1)
                                    for i in range(3)])
            self.add_module(f"stage{s + 1}", stage)
            cin = cout
        self.fc = nn.Linear(cin, classes)

    def blocks(self):
        for s in (1, 2, 3):
            for i, block in enumerate(getattr(self, f"stage{s}")):
                yield f"stage{s}.{i}", block

    def forward(self, x):
        h = self.stage3(self.stage2(self.stage1(self.stem(x))))
        return self.fc(h.mean(dim=(2, 3)))


# ---------------------------------------------------------------------------------------------

def random_init(net):
    """Non-default random state so every op (BN affine, running statistics) matters."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                fan = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                m.weight.normal_(0, math.sqrt(2.0 / fan))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.zero_()
            elif isinstance(m, nn.Linear):
                m.weight.normal_(0, 0.1)
                m.bias.normal_(0, 0.1)


def save(golden, key, value):
    assert key not in golden, key
    golden[key] = value.detach().clone().contiguous()


def shakedrop_coefficients(net, generator):
    out = {}
    for name, block in net.blocks():
        gate = torch.bernoulli(torch.full((BATCH, 1, 1, 1), block.survival), generator=generator)
        gate[0] = 1  # every block has a kept and a dropped image, whatever the draw
        gate[1] = 0
        alpha = torch.rand(BATCH, 1, 1, 1, generator=generator) * 2 - 1
        beta = torch.rand(BATCH, 1, 1, 1, generator=generator)
        out[name] = (gate, alpha, beta)
    return out


def shake_coefficients(net, generator):
    return {name: (torch.rand(BATCH, 1, 1, 1, generator=generator), torch.rand(BATCH, 1, 1, 1, generator=generator))
            for name, _ in net.blocks()}


def record(file_name, make, coefficients_of, prefix, seed):
    torch.manual_seed(seed)
    net = make()
    random_init(net)
    x = torch.randn(BATCH, 3, SIZE, SIZE)
    target = torch.tensor([3, 7, 0, 3, 9, 1], dtype=torch.int64)
    coefficients = coefficients_of(net, torch.Generator().manual_seed(seed + 1))
    initial = {k: v.clone() for k, v in net.state_dict().items()}

    golden = {}
    save(golden, "input", x)
    save(golden, "target", target)
    for name, value in initial.items():
        save(golden, "init." + name, value)

    net.eval()
    with torch.no_grad():
        eval_logits = net(x)
    save(golden, "eval.logits", eval_logits)
    for name, value in net.state_dict().items():
        assert torch.equal(value, initial[name]), name

    parts = ("gate", "alpha", "beta") if prefix == "shakedrop" else ("alpha", "beta")
    for name, values in coefficients.items():
        for part, value in zip(parts, values):
            save(golden, f"{prefix}.{part}.{name}", value)

    model = make()
    model.load_state_dict(initial, strict=True)
    model.train()
    for name, block in model.blocks():
        block.coefficients = coefficients[name]
    logits = model(x)
    loss = F.cross_entropy(logits, target)
    loss.backward()
    save(golden, "train.logits", logits)
    save(golden, "train.loss", loss)
    for n, p in model.named_parameters():
        save(golden, "train.grad." + n, p.grad)
    for n, b in model.named_buffers():
        if n.endswith("num_batches_tracked"):
            assert b.item() == 1, n
        save(golden, "train.buffer." + n, b)
    assert (logits - eval_logits).abs().max().item() > 1e-3

    for k, v in golden.items():
        assert v.is_contiguous() and v.storage_offset() == 0 and v.storage().size() == v.numel(), k
        assert v.dtype in (torch.float64, torch.int64) and not v.requires_grad, k
    out = os.path.join(OUT_DIR, file_name)
    torch.save(golden, out)
    size = os.path.getsize(out)
    assert size < MAX_BYTES, size
    params = sum(p.numel() for p in model.parameters())
    print(f"{out}: {len(golden)} tensors, {len(initial)} state entries, {params} parameters, {size} bytes, "
          f"loss {loss.item():.6f}")
    for name, block in model.blocks():
        extra = f" survival {block.survival:.4f} gates {block.coefficients[0].flatten().tolist()}" if prefix == "shakedrop" else ""
        print(f"  block {name}{extra}")


def check_functions():
    g = torch.Generator().manual_seed(3)
    f = torch.randn(4, 3, 2, 2, generator=g, requires_grad=True)
    gate = torch.tensor([1.0, 0.0, 0.0, 1.0]).view(4, 1, 1, 1)
    alpha = torch.rand(4, 1, 1, 1, generator=g)  # in [0,1], a valid beta too
    assert torch.autograd.gradcheck(lambda t: ShakeDropFunction.apply(t, gate, alpha, alpha), (f,))
    a = torch.randn(4, 3, 2, 2, generator=g, requires_grad=True)
    b = torch.randn(4, 3, 2, 2, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s, t: ShakeShakeFunction.apply(s, t, alpha, alpha), (a, b))
    beta = torch.rand(4, 1, 1, 1, generator=g)
    ShakeDropFunction.apply(f, gate, -alpha, beta).sum().backward()
    assert torch.allclose(f.grad, (gate + beta - gate * beta).expand_as(f))
    ShakeShakeFunction.apply(a, b, alpha, beta).sum().backward()
    assert torch.allclose(a.grad, beta.expand_as(a)) and torch.allclose(b.grad, (1 - beta).expand_as(b))
    print("gradcheck of ShakeDrop and Shake-Shake (beta = alpha) passed; backward uses beta")


MODELS = {
    "pyramidnet-basic-golden.pt": (lambda: PyramidNet(8, 12, False, CLASSES), shakedrop_coefficients, "shakedrop", 20240611),
    "pyramidnet-bottleneck-golden.pt": (lambda: PyramidNet(11, 12, True, CLASSES), shakedrop_coefficients, "shakedrop", 20240612),
    "resnext-golden.pt": (lambda: ShakeResNeXt(2, 2, 4, CLASSES), shake_coefficients, "shake", 20240613),
}


def check_java(directory):
    """load_state_dict(strict=True) of ShakeNet's own exported state dicts into these modules."""
    for file_name, (make, _, _, _) in MODELS.items():
        path = os.path.join(directory, file_name.replace("-golden.pt", ".state.pt"))
        state = torch.load(path)
        net = make()
        result = net.load_state_dict(state, strict=True)
        assert not result.missing_keys and not result.unexpected_keys
        assert list(state.keys()) == list(net.state_dict().keys()), "same names, different order"
        print(f"{path}: {len(state)} entries load_state_dict(strict=True) OK, same order as state_dict()")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check-java":
        check_java(sys.argv[2])
        return
    if len(sys.argv) != 1:
        sys.exit("usage: record_family_goldens.py [--check-java DIR]")
    if not os.path.isdir(os.path.join("src", "test", "resources")):
        sys.exit("run from the repository root: /usr/bin/python3 src/test/python/record_family_goldens.py")
    check_functions()
    for file_name, (make, coefficients_of, prefix, seed) in MODELS.items():
        record(file_name, make, coefficients_of, prefix, seed)


if __name__ == "__main__":
    main()
