"""DCGAN training speed: synthlib's shared loop against a plain reference loop, in one process.

Both loops train the DCGAN of pytorch/examples (64x64 RGB, nz=100, ngf=ndf=64, batch 64,
Adam lr 2e-4 betas (0.5, 0.999), binary cross-entropy) on the same in-memory images:

* reference -- the step written the way ``pytorch/examples/dcgan/main.py`` writes it: sigmoid
  outputs and ``nn.BCELoss``, two D backward passes, D's weight gradients computed during the G
  step too, and ``.item()`` on every loss every step (the example prints them);
* synthlib  -- ``gan_trainer`` with ``GANConfig(loss="nonsaturating")`` (BCE with logits: the same
  objective), fed by a ``TensorBatches`` iterator, progress bar off, no EMA.

Both use the same ``DCGANGenerator`` / ``DCGANDiscriminator`` classes, so the networks are
identical layer for layer. Rounds alternate (reference, synthlib, reference, ...) so that a
machine that slows down or speeds up part-way affects both alike; each loop first runs 3
warm-up steps that are not measured (torch.compile compiles then; their time is printed).
Each round reports images/s of wall time and, in brackets, images per CPU-second of this
process: with ``--threads 1`` that second figure barely moves when other programs share the
CPU. The work of one step of each loop is counted (torch's FLOP counter) and an fp32 matmul is
timed on the same device, so the report also says what share of the machine's matmul speed each
loop reaches and the ceiling on the ratio. The last line printed is the ratio of the median images/s.

On a GPU, synthlib's loop runs as it does for a user there: bf16/fp16 autocast and
channels_last, while the reference loop stays in fp32 as the example does.

    python benchmarks/dcgan_speed.py                       # 5 rounds of 10 steps each
    python benchmarks/dcgan_speed.py --threads 1 --rounds 9
    python benchmarks/dcgan_speed.py --compile             # also time synthlib with torch.compile
    python benchmarks/dcgan_speed.py --quick               # seconds: checks that it runs
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from synthlib.core.train import Trainer, pick_device
from synthlib.data import TensorBatches, from_uint8
from synthlib.gan import GANConfig, gan_trainer
from synthlib.gan.dcgan import DCGANDiscriminator, DCGANGenerator

# The hyper-parameters of pytorch/examples/dcgan (its command-line defaults).
NZ, NGF, NDF, NC, IMG_SIZE, BATCH_SIZE, LR, BETAS = 100, 64, 64, 3, 64, 64, 2e-4, (0.5, 0.999)
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "colorwheel")


# ----------------------------------------------------------------------------------------------
# Data: random crops of the photos that ship with scikit-image (no download)
# ----------------------------------------------------------------------------------------------


def photo_crops(num_img: int, size: int = IMG_SIZE, seed: int = 0) -> tuple[Tensor, str]:
    """``num_img`` random square crops of scikit-image's bundled photos, resized to ``size``.

    Returns (uint8 images num_img x 3 x size x size, a description). Each crop has a random side
    between ``size`` and the photo's shorter side, a random position and a random horizontal
    flip. Falls back to uniform noise if scikit-image has none of the photos.
    """
    gen = torch.Generator().manual_seed(seed)
    photos, names = [], []
    try:
        import skimage.data
    except ImportError:
        skimage = None  # type: ignore[assignment]
    for name in PHOTOS if skimage is not None else ():
        try:
            img = getattr(skimage.data, name)()
        except Exception:  # a photo this scikit-image version lacks or would have to download
            continue
        photos.append(torch.from_numpy(img[..., :3].copy()).permute(2, 0, 1))  # (3, H, W) uint8
        names.append(name)
    if not photos:
        images = torch.randint(0, 256, (num_img, NC, size, size), dtype=torch.uint8, generator=gen)
        return images, f"{num_img} uniform-noise images (scikit-image photos unavailable)"

    def rand(low: int, high: int) -> int:  # inclusive
        return int(torch.randint(low, high + 1, (), generator=gen))

    crops = []
    for _ in range(num_img):
        photo = photos[rand(0, len(photos) - 1)]
        h, w = photo.shape[1:]
        side = rand(size, min(h, w))
        top, left = rand(0, h - side), rand(0, w - side)
        crop = photo[None, :, top : top + side, left : left + side].float()  # (1, 3, side, side)
        crop = F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        if rand(0, 1):
            crop = crop.flip(-1)
        crops.append(crop.round().clamp(0, 255).to(torch.uint8))
    return torch.cat(crops), f"{num_img} random {size}x{size} crops of scikit-image photos ({', '.join(names)})"


def batches(images_u8: Tensor, seed: int, batch_size: int = BATCH_SIZE) -> TensorBatches:
    """Endless shuffled batches (of 64 images by default), float in [-1, 1] (synthlib's pixel convention)."""
    return TensorBatches(images_u8, batch_size=batch_size, seed=seed, transform=from_uint8)


def build_models(seed: int, width: int = NGF) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """pytorch/examples' G and D (3,576,704 and 2,765,568 parameters at ``width`` 64), freshly initialised."""
    torch.manual_seed(seed)
    G = DCGANGenerator(DCGANGenerator.Config(z_dim=NZ, img_size=IMG_SIZE, img_channels=NC, base_channels=width))
    D = DCGANDiscriminator(DCGANDiscriminator.Config(img_size=IMG_SIZE, img_channels=NC, base_channels=width))
    return G, D


# ----------------------------------------------------------------------------------------------
# (a) The reference loop, written the way pytorch/examples/dcgan/main.py writes it
# ----------------------------------------------------------------------------------------------


class SigmoidD(nn.Module):
    """pytorch/examples' D ends in ``nn.Sigmoid()``; ours returns logits, so add it back."""

    def __init__(self, D: nn.Module) -> None:
        super().__init__()
        self.main = D

    def forward(self, img: Tensor) -> Tensor:
        return torch.sigmoid(self.main(img))  # (N,) probabilities D(x)


@dataclass
class Reference:
    netG: nn.Module
    netD: nn.Module
    data: Iterator[Tensor]
    device: torch.device

    def __post_init__(self) -> None:
        self.netG.to(self.device).train()
        self.netD = SigmoidD(self.netD).to(self.device).train()
        self.criterion = nn.BCELoss()
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=LR, betas=BETAS)
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=LR, betas=BETAS)
        self.stats: tuple[float, ...] = ()

    def train(self, num_steps: int) -> None:
        real_label, fake_label = 1.0, 0.0
        for _ in range(num_steps):
            ############################
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            ###########################
            # train with real
            self.netD.zero_grad()
            real_cpu = next(self.data).to(self.device)
            batch_size = real_cpu.size(0)
            label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=self.device)
            output = self.netD(real_cpu)
            errD_real = self.criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()

            # train with fake
            noise = torch.randn(batch_size, NZ, device=self.device)  # our G takes (N, nz), not (N, nz, 1, 1)
            fake = self.netG(noise)
            label.fill_(fake_label)
            output = self.netD(fake.detach())
            errD_fake = self.criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            self.optimizerD.step()

            ############################
            # (2) Update G network: maximize log(D(G(z)))
            ###########################
            self.netG.zero_grad()
            label.fill_(real_label)  # fake labels are real for generator cost
            output = self.netD(fake)
            errG = self.criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            self.optimizerG.step()

            # the example prints these every step
            self.stats = (errD.item(), errG.item(), D_x, D_G_z1, D_G_z2)


# ----------------------------------------------------------------------------------------------
# (b) synthlib's loop
# ----------------------------------------------------------------------------------------------


def synthlib_trainer(G: nn.Module, D: nn.Module, data: Any, device: torch.device, *, batch_size: int = BATCH_SIZE,
                     **options: Any) -> Trainer:
    """The Trainer a chapter would build, with its default options (``options`` override them)."""
    cfg = GANConfig(loss="nonsaturating", z_dim=NZ, batch_size=batch_size, lr_g=LR, lr_d=LR, betas=BETAS)
    return gan_trainer(G, D, data, cfg, kind="dcgan", device=device, progress=False, **options)


def run_for(trainer: Trainer) -> Callable[[int], None]:
    """``run(num_steps)``: train ``num_steps`` more steps (``fit`` counts to an absolute step)."""

    def run(num_steps: int) -> None:
        trainer.fit(trainer.step + num_steps)

    return run


# ----------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(run: Callable[[int], None], num_steps: int, device: torch.device) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) that ``run(num_steps)`` takes, GPU work finished."""
    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    run(num_steps)
    sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def step_flops(run: Callable[[int], None]) -> float:
    """Floating-point operations of one training step (forward, backward; counted by torch, not timed)."""
    try:
        with FlopCounterMode(display=False) as counter:
            run(1)
        return float(counter.get_total_flops())
    except RuntimeError:  # torch >= 2.11: the counter's module hooks refuse autograd.grad on a leaf (R1's penalty)
        pass
    with _FlopsOnly() as flops:  # the same per-op formulas, without attributing them to modules
        run(1)
    return float(flops.total)


class _FlopsOnly(TorchDispatchMode):
    """Sums ``FlopCounterMode``'s formulas over every op dispatched, with none of its module hooks."""

    def __init__(self) -> None:
        super().__init__()
        self.registry = FlopCounterMode(display=False).flop_registry
        self.total = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = self.registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 10, dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of an n x n matmul in ``dtype`` (fp32 by default) on ``device``: what its fastest kernel reaches."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    wall, _ = timed(lambda k: [a @ b for _ in range(k)], repeats, device)
    return 2 * n**3 * repeats / wall / 1e9


@dataclass
class Contender:
    name: str
    run: Callable[[int], None]
    warmup_s: float = 0.0
    flops: float = 0.0
    img_per_s: list[float] = field(default_factory=list)
    img_per_cpu_s: list[float] = field(default_factory=list)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=10, help="training steps per measured round (default 10)")
    p.add_argument("--rounds", type=int, default=5, help="measured rounds per loop (default 5)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, ...")
    p.add_argument("--compile", action="store_true", help="also time synthlib with compile=True (torch.compile)")
    p.add_argument("--quick", action="store_true", help="seconds, not minutes: 1 round of 1 step at half the widths "
                   "and batch (for tests)")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.rounds = 1, 1
    if args.steps < 1 or args.rounds < 1:
        p.error("--steps and --rounds must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Run the benchmark, print a report; return the median images/s of each loop and the ratio."""
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    what = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"torch {torch.__version__} | device {device} ({what}) | threads {torch.get_num_threads()}")
    width, batch = (NGF // 2, BATCH_SIZE // 2) if args.quick else (NGF, BATCH_SIZE)  # quick: half widths, half batch
    print(f"DCGAN {IMG_SIZE}x{IMG_SIZE}x{NC}, nz={NZ}, ngf=ndf={width}, batch {batch}, Adam lr {LR} betas {BETAS}")
    images, about = photo_crops(256 if args.quick else 2048)
    print(f"data: {about}")

    contenders = []
    G, D = build_models(seed=0, width=width)
    data = lambda: batches(images, seed=1, batch_size=batch)  # noqa: E731  (each contender its own iterator)
    contenders.append(Contender("reference", Reference(G, D, data(), device).train))
    G, D = build_models(seed=0, width=width)
    contenders.append(Contender("synthlib", run_for(synthlib_trainer(G, D, data(), device, batch_size=batch))))
    if args.compile:
        G, D = build_models(seed=0, width=width)
        trainer = synthlib_trainer(G, D, data(), device, batch_size=batch, compile=True)
        contenders.append(Contender("synthlib+compile", run_for(trainer)))

    # Not measured: allocator warm-up, oneDNN/cuDNN algorithm choice, torch.compile.
    warmup_steps = 1 if args.quick else min(3, args.steps)
    for c in contenders:
        c.warmup_s, _ = timed(c.run, warmup_steps, device)
    print(f"warm-up ({warmup_steps} steps each, not measured): "
          + ", ".join(f"{c.name} {c.warmup_s:.1f} s" for c in contenders))
    for c in contenders:
        c.flops = step_flops(c.run)
    print("work per step (FLOPs counted by torch.utils.flop_counter): "
          + ", ".join(f"{c.name} {c.flops / 1e9:.1f} GFLOP" for c in contenders))

    print(f"{args.rounds} rounds of {args.steps} steps, alternating; images/s (images per CPU-second of this process):")
    print("round" + "".join(f"{c.name:>26}" for c in contenders))
    for r in range(args.rounds):
        for c in contenders:
            wall, cpu = timed(c.run, args.steps, device)
            c.img_per_s.append(args.steps * batch / wall)
            c.img_per_cpu_s.append(args.steps * batch / max(cpu, 1e-9))
        print(f"{r + 1:5d}" + "".join(f"{c.img_per_s[-1]:17.1f} ({c.img_per_cpu_s[-1]:5.1f})" for c in contenders))

    ref = contenders[0]
    results = {}
    for c in contenders:
        results[c.name] = statistics.median(c.img_per_s)
        print(f"median images/s {c.name:<17} {results[c.name]:8.1f}   "
              f"(per CPU-second {statistics.median(c.img_per_cpu_s):.1f})")
    # How close each loop runs to the machine's fastest fp32 kernel: the ceiling for any loop
    # that does this work is (matmul GFLOP/s) / (its GFLOP per step) steps per second.
    peak = matmul_gflops(device)
    print(f"fp32 matmul (2048 x 2048) on this machine: {peak:.0f} GFLOP/s")
    for c in contenders:
        achieved = results[c.name] / batch * c.flops / 1e9
        print(f"achieved {c.name:<17} {achieved:6.0f} GFLOP/s = {achieved / peak:4.0%} of matmul")
    synthlib_flops = next(c.flops for c in contenders if c.name == "synthlib")
    ceiling = peak / (synthlib_flops / 1e9) * batch / results["reference"]
    print(f"ceiling for synthlib / reference (synthlib's work at matmul speed): {ceiling:.2f}x")
    results["matmul_gflops"], results["ceiling"] = peak, ceiling
    for c in contenders[1:]:
        # Rounds run back to back, so a round-by-round ratio cancels slow phases of a shared machine.
        paired = statistics.median(a / b for a, b in zip(c.img_per_s, ref.img_per_s))
        print(f"median of per-round ratios {c.name} / reference: {paired:.2f}x")
    if args.compile:
        print(f"ratio synthlib+compile / reference: {results['synthlib+compile'] / results['reference']:.2f}x")
    results["ratio"] = results["synthlib"] / results["reference"]
    print(f"ratio synthlib / reference: {results['ratio']:.2f}x")
    return results


if __name__ == "__main__":
    main()
