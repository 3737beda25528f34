"""Every family's training step: synthlib's against a peer's, and against the machine's ceiling.

For each family of the course -- ``dcgan``, ``pix2pix``, ``cyclegan``, ``fast_style``, ``adain``,
``stylegan``, ``inpaint``, ``sr``, ``diffusion`` -- this builds the chapter's networks at its
default-profile sizes twice from the same seed and times two training steps on the same fixed
in-memory batches (random crops of scikit-image's photos; nothing is downloaded):

* **synthlib**: the family's own trainer factory (``pix2pix_trainer``, ``stylegan_trainer``, ...)
  with the chapter's default-profile config, stepped by ``Trainer.fit`` over the fixed batches
  (``train_step(batch)`` per step plus the loop's loss flush every ``log_every`` steps).
* **peer**: the same step written the way a reference implementation writes it, in plain PyTorch
  (written here from the published code; see each ``peer_*`` function): junyanz's
  pytorch-CycleGAN-and-pix2pix for Pix2Pix and CycleGAN, pytorch/examples' fast_neural_style,
  naoto0804/pytorch-AdaIN, NVlabs' StyleGAN2 loop with the paper's grouped-convolution modulated conv,
  plain loops of the inpainting and SRResNet papers' public code, and ``diffusers``' ``UNet2DModel`` +
  ``DDPMScheduler`` as its ``train_unconditional`` example steps them. ``dcgan`` is
  ``dcgan_speed.py``'s pair (pytorch/examples' loop and shapes).

The method is ``dcgan_speed.py``'s (whose helpers it imports): unmeasured warm-up steps, rounds that
alternate peer / synthlib, medians; the floating-point work of a step counted with
``torch.utils.flop_counter.FlopCounterMode``; an fp32 2048 x 2048 matmul timed in the same run as
the **ceiling** (``ceiling_img_s``: images/s if synthlib's counted work ran at matmul speed). Where
synthlib's step stays below half its ceiling, ``torch.profiler`` on a few of its steps says where the
time goes (the ``limit`` column). One table is printed and written as JSON (``--out``, default
``runs/bench/bench.json``).

    python benchmarks/family_speed.py                          # every family, default-profile sizes
    python benchmarks/family_speed.py --families pix2pix,sr   # some of them
    python benchmarks/family_speed.py --quick                  # seconds: tiny sizes, 1 step (for tests)
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import random
import statistics
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dcgan_speed as dc  # noqa: E402  (the DCGAN pair and the timing helpers: warm-up, rounds, FLOPs, matmul)

from synthlib.core.train import Trainer, pick_device  # noqa: E402
from synthlib.data import from_uint8  # noqa: E402

FAMILIES = ("dcgan", "pix2pix", "cyclegan", "fast_style", "adain", "stylegan", "inpaint", "sr", "diffusion")
OUT = Path("runs/bench/bench.json")
# Run settings given to every synthlib trainer built here (empty: the loop's defaults). gpu_check.py sets
# {"channels_last": False} or {"precision": "fp32"} to see which of the loop's CUDA defaults helps a family.
RUN_OPTIONS: dict[str, Any] = {}
Run = Callable[[int], None]  # run(num_steps): train that many more steps


@dataclass
class Pair:
    """One family's two steps on the same shapes, ready to time."""

    about: str  # the shapes, one line
    batch_size: int
    synthlib: Run
    peer: Run
    peer_about: str
    period: int = 1  # steps after which the phases repeat (StyleGAN2's lazy regularisers): rounds are multiples


# ----------------------------------------------------------------------------------------------
# Fixed in-memory batches
# ----------------------------------------------------------------------------------------------


def images(num: int, size: int, channels: int = 3, seed: int = 0) -> Tensor:
    """``num`` crops of scikit-image's photos at ``size`` px in [-1, 1] (grey when ``channels == 1``)."""
    u8, _ = dc.photo_crops(num, size=size, seed=seed)
    x = from_uint8(u8)
    return x.mean(1, keepdim=True) if channels == 1 else x


def fixed(batches: list[Any]) -> Iterator[Any]:
    """The same few batches, over and over (data loading is not what is measured)."""
    return itertools.cycle(batches)


def split(x: Tensor, batch_size: int) -> list[Tensor]:
    return list(x.split(batch_size))[: max(1, len(x) // batch_size)]


def trainer_run(trainer: Trainer) -> Run:
    return dc.run_for(trainer)


def logged(*losses: Tensor) -> tuple[float, ...]:
    """What the reference loops do with their losses every step: copy them to the host (``.item()``)."""
    return tuple(float(v.item()) for v in losses)


def seeded(seed: int, build: Callable[[], Any]) -> Any:
    torch.manual_seed(seed)
    return build()


# ----------------------------------------------------------------------------------------------
# dcgan: dcgan_speed.py's pair (pytorch/examples' shapes: 64 px RGB, batch 64)
# ----------------------------------------------------------------------------------------------


def pair_dcgan(quick: bool, device: torch.device) -> Pair:
    width, batch = (16, 16) if quick else (dc.NGF, dc.BATCH_SIZE)  # quick: a quarter of the widths and batch
    x = images(2 * batch if quick else 4 * batch, dc.IMG_SIZE)
    data = split(x.to(device), batch)
    G, D = dc.build_models(seed=0, width=width)
    synthlib = trainer_run(dc.synthlib_trainer(G, D, fixed(data), device, batch_size=batch, **RUN_OPTIONS))
    G, D = dc.build_models(seed=0, width=width)
    peer = dc.Reference(G, D, fixed(data), device).train
    return Pair(f"64x64x3, nz 100, ngf=ndf={width}, batch {batch}", batch, synthlib, peer,
                "pytorch/examples dcgan/main.py's loop (Sigmoid + BCELoss, .item() every step)")


# ----------------------------------------------------------------------------------------------
# pix2pix and cyclegan: chapter 3's networks (64 px emoji-sized), junyanz's loops as the peer
# ----------------------------------------------------------------------------------------------


def _translation_nets(quick: bool, norm: str, upsample: str, conditional: bool) -> tuple[nn.Module, nn.Module]:
    from synthlib.nn.patchgan import PatchGANDiscriminator
    from synthlib.nn.unet import UNetGenerator

    base = 8 if quick else 16  # chapter 3: base_channels smoke 8, default 16; patch_layers 2
    G = UNetGenerator(UNetGenerator.Config(base_channels=base, max_channels=8 * base, num_downs=6, norm=norm,
                                           dropout=0.5, dropout_at_eval=False, upsample=upsample))
    D = PatchGANDiscriminator(PatchGANDiscriminator.Config(conditional=conditional, base_channels=base, num_layers=2,
                                                           norm=norm))
    return G, D


class JunyanzGANLoss(nn.Module):
    """junyanz's ``GANLoss``: BCEWithLogits ("vanilla") or MSE ("lsgan") against a target tensor of 1s or 0s."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.loss = nn.BCEWithLogitsLoss() if mode == "vanilla" else nn.MSELoss()

    def forward(self, prediction: Tensor, target_is_real: bool) -> Tensor:
        target = torch.tensor(1.0 if target_is_real else 0.0, device=prediction.device).expand_as(prediction)
        return self.loss(prediction, target)


def peer_pix2pix(G: nn.Module, D: nn.Module, data: Iterator[Any], lr: float, lambda_l1: float) -> Run:
    """``Pix2PixModel.optimize_parameters`` (junyanz): forward, D step on (A, fake_B).detach() and (A, B)
    halved, then the G step (GAN + lambda * L1) with D's requires_grad off; Adam(0.5, 0.999) each."""
    criterion_gan, criterion_l1 = JunyanzGANLoss("vanilla"), nn.L1Loss()
    optimizer_G = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    G.train(), D.train()

    def run(num_steps: int) -> None:
        for _ in range(num_steps):
            real_A, real_B = next(data)
            fake_B = G(real_A)                                   # self.forward()
            # update D
            D.requires_grad_(True)
            optimizer_D.zero_grad()
            pred_fake = D(fake_B.detach(), real_A)               # netD(cat(real_A, fake_B).detach())
            loss_D_fake = criterion_gan(pred_fake, False)
            pred_real = D(real_B, real_A)
            loss_D_real = criterion_gan(pred_real, True)
            loss_D = (loss_D_fake + loss_D_real) * 0.5
            loss_D.backward()
            optimizer_D.step()
            # update G
            D.requires_grad_(False)
            optimizer_G.zero_grad()
            loss_G_GAN = criterion_gan(D(fake_B, real_A), True)
            loss_G_L1 = criterion_l1(fake_B, real_B) * lambda_l1
            loss_G = loss_G_GAN + loss_G_L1
            loss_G.backward()
            optimizer_G.step()
            logged(loss_G_GAN, loss_G_L1, loss_D_real, loss_D_fake)  # get_current_losses()

    return run


def pair_pix2pix(quick: bool, device: torch.device) -> Pair:
    from synthlib.translation import Pix2PixConfig, pix2pix_trainer

    batch = 8 if quick else 16  # chapter 3's batch_size
    a, b = images(2 * batch, 64, seed=1), images(2 * batch, 64, seed=2)
    data = list(zip(split(a.to(device), batch), split(b.to(device), batch)))
    lr, lambda_l1 = 5e-4, 100.0  # chapter 3's default lr and the paper's lambda
    cfg = Pix2PixConfig(lambda_l1=lambda_l1, lr_g=lr, lr_d=lr, batch_size=batch, ema_half_life_img=2000)
    G, D = seeded(0, lambda: _translation_nets(quick, "batch", "transposed", True))
    synthlib = trainer_run(pix2pix_trainer(G, D, fixed(data), cfg, device=device, progress=False, **RUN_OPTIONS))
    G, D = seeded(0, lambda: _translation_nets(quick, "batch", "transposed", True))
    peer = peer_pix2pix(G.to(device), D.to(device), fixed(data), lr, lambda_l1)
    return Pair(f"64x64x3 pairs, U-Net (base {8 if quick else 16}, 6 downs, batch norm) + PatchGAN (2 layers), "
                f"batch {batch}", batch, synthlib, peer,
                "junyanz pix2pix_model.optimize_parameters (BCEWithLogits, separate D and G steps, .item())")


class JunyanzImagePool:
    """junyanz's ``ImagePool.query``: per image, fill the pool first; then half the time return a stored
    fake (and store the new one in its place), half the time the new one."""

    def __init__(self, pool_size: int) -> None:
        self.pool_size, self.images = pool_size, []  # type: ignore[var-annotated]

    def query(self, images: Tensor) -> Tensor:
        out = []
        for image in images:
            image = torch.unsqueeze(image.data, 0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                k = random.randint(0, self.pool_size - 1)
                tmp = self.images[k].clone()
                self.images[k] = image
                out.append(tmp)
            else:
                out.append(image)
        return torch.cat(out, 0)


def peer_cyclegan(G_A: nn.Module, G_B: nn.Module, D_A: nn.Module, D_B: nn.Module, data: Iterator[Any], lr: float,
                  lambda_cycle: float, lambda_identity: float) -> Run:
    """``CycleGANModel.optimize_parameters`` (junyanz): forward (fake and reconstructed both ways), the G step
    (identity, LSGAN, cycle) with the Ds frozen, then each D on real vs a pooled fake, halved."""
    criterion_gan, criterion_cycle, criterion_idt = JunyanzGANLoss("lsgan"), nn.L1Loss(), nn.L1Loss()
    optimizer_G = torch.optim.Adam(itertools.chain(G_A.parameters(), G_B.parameters()), lr=lr, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), lr=lr, betas=(0.5, 0.999))
    fake_A_pool, fake_B_pool = JunyanzImagePool(50), JunyanzImagePool(50)
    for m in (G_A, G_B, D_A, D_B):
        m.train()

    def backward_D_basic(netD: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        loss_D = (criterion_gan(netD(real), True) + criterion_gan(netD(fake.detach()), False)) * 0.5
        loss_D.backward()
        return loss_D

    def run(num_steps: int) -> None:
        for _ in range(num_steps):
            real_A, real_B = next(data)
            fake_B = G_A(real_A)
            rec_A = G_B(fake_B)
            fake_A = G_B(real_B)
            rec_B = G_A(fake_A)
            # G_A and G_B
            D_A.requires_grad_(False), D_B.requires_grad_(False)
            optimizer_G.zero_grad()
            loss_idt_A = criterion_idt(G_A(real_B), real_B) * lambda_cycle * lambda_identity
            loss_idt_B = criterion_idt(G_B(real_A), real_A) * lambda_cycle * lambda_identity
            loss_G_A = criterion_gan(D_A(fake_B), True)
            loss_G_B = criterion_gan(D_B(fake_A), True)
            loss_cycle_A = criterion_cycle(rec_A, real_A) * lambda_cycle
            loss_cycle_B = criterion_cycle(rec_B, real_B) * lambda_cycle
            loss_G = loss_G_A + loss_G_B + loss_cycle_A + loss_cycle_B + loss_idt_A + loss_idt_B
            loss_G.backward()
            optimizer_G.step()
            # D_A and D_B
            D_A.requires_grad_(True), D_B.requires_grad_(True)
            optimizer_D.zero_grad()
            loss_D_A = backward_D_basic(D_A, real_B, fake_B_pool.query(fake_B))
            loss_D_B = backward_D_basic(D_B, real_A, fake_A_pool.query(fake_A))
            optimizer_D.step()
            logged(loss_D_A, loss_G_A, loss_cycle_A, loss_idt_A, loss_D_B, loss_G_B, loss_cycle_B, loss_idt_B)

    return run


def pair_cyclegan(quick: bool, device: torch.device) -> Pair:
    from synthlib.translation import CycleGANConfig, cyclegan_trainer

    batch = 8 if quick else 16
    a, b = images(2 * batch, 64, seed=1), images(2 * batch, 64, seed=2)
    data = list(zip(split(a.to(device), batch), split(b.to(device), batch)))
    cfg = CycleGANConfig(lambda_cycle=10.0, batch_size=batch, ema_half_life_img=2000)  # chapter 3's default

    def nets() -> list[nn.Module]:  # chapter 3's CycleGAN: U-Net generators, instance norm, resize-convs
        G_AB, D_B = _translation_nets(quick, "instance", "resize", False)
        G_BA, D_A = _translation_nets(quick, "instance", "resize", False)
        return [G_AB, G_BA, D_A, D_B]

    G_AB, G_BA, D_A, D_B = seeded(0, nets)
    synthlib = trainer_run(cyclegan_trainer(G_AB, G_BA, D_A, D_B, fixed(data), cfg, device=device, progress=False, **RUN_OPTIONS))
    G_AB, G_BA, D_A, D_B = (m.to(device) for m in seeded(0, nets))
    # junyanz's D_A judges domain B (fake_B = G_A(A)): synthlib's D_B
    peer = peer_cyclegan(G_AB, G_BA, D_B, D_A, fixed(data), cfg.lr, cfg.lambda_cycle, cfg.lambda_identity)
    return Pair(f"64x64x3 unpaired, 2 U-Nets (base {8 if quick else 16}, instance norm, resize-convs) + 2 PatchGANs, "
                f"batch {batch}", batch, synthlib, peer,
                "junyanz cycle_gan_model.optimize_parameters (LSGAN MSE, ImagePool 50, separate G and D steps)")


# ----------------------------------------------------------------------------------------------
# fast_style and adain: chapter 4's networks and VGG16 (random weights: the speed is the same)
# ----------------------------------------------------------------------------------------------


def _vgg(max_layer: str, device: torch.device) -> nn.Module:
    """A frozen VGG16 feature extractor with torchvision's random initialisation: the work of a step does
    not depend on the weights, and the benchmark needs no download."""
    from synthlib.nn.vgg import VGG16Features

    return VGG16Features(VGG16Features.Config(weights="offline-hed", max_layer=max_layer)).to(device)


def normalize_batch(batch: Tensor) -> Tensor:
    """pytorch/examples' ``utils.normalize_batch`` on 0..255 images: ImageNet mean and std."""
    mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    return (batch.div_(255.0) - mean) / std


def examples_gram_matrix(y: Tensor) -> Tensor:
    """pytorch/examples' ``utils.gram_matrix``."""
    b, ch, h, w = y.size()
    features = y.view(b, ch, w * h)
    return features.bmm(features.transpose(1, 2)) / (ch * h * w)


class ExamplesVgg16(nn.Module):
    """pytorch/examples' ``Vgg16``: the relu1_2, relu2_2, relu3_3, relu4_3 activations of VGG16 (it takes the
    normalised batch; our extractor normalises [-1, 1] images itself, so the peer hands it those)."""

    LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")

    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.vgg = _vgg("relu4_3", device)

    def forward(self, x: Tensor) -> list[Tensor]:
        out = self.vgg(x, self.LAYERS)
        return [out[k] for k in self.LAYERS]


def peer_fast_style(net: nn.Module, style: Tensor, data: Iterator[Tensor], device: torch.device, lr: float,
                    content_weight: float = 1e5, style_weight: float = 1e10) -> Run:
    """pytorch/examples fast_neural_style ``train``: Adam(lr), the style's Grams once, then per batch:
    y = net(x); VGG features of y and x; content MSE at relu2_2; style MSE of Grams at the four layers;
    ``.item()`` on both every step. Its images are 0..255 and normalised per batch."""
    vgg, mse_loss = ExamplesVgg16(device), nn.MSELoss()
    optimizer = torch.optim.Adam(net.parameters(), lr)
    net.train()
    batch_size = next(data).shape[0]
    features_style = vgg(style.repeat(batch_size, 1, 1, 1))
    gram_style = [examples_gram_matrix(y) for y in features_style]
    to_255 = lambda t: (t + 1) * 127.5  # noqa: E731  the example's images are 0..255

    def run(num_steps: int) -> None:
        for _ in range(num_steps):
            x = next(data)
            n_batch = len(x)
            optimizer.zero_grad()
            y = net(x)
            y, x = normalize_batch(to_255(y)), normalize_batch(to_255(x))
            features_y, features_x = vgg(y), vgg(x)
            content_loss = content_weight * mse_loss(features_y[1], features_x[1])
            style_loss = 0.0
            for ft_y, gm_s in zip(features_y, gram_style):
                style_loss = style_loss + mse_loss(examples_gram_matrix(ft_y), gm_s[:n_batch, :, :])
            style_loss = style_loss * style_weight
            total_loss = content_loss + style_loss
            total_loss.backward()
            optimizer.step()
            logged(content_loss, style_loss)

    return run


def pair_fast_style(quick: bool, device: torch.device) -> Pair:
    from synthlib.style import FastStyleConfig, fast_style_trainer
    from synthlib.style.style_nets import TransformerNet

    batch, crop = (2, 32) if quick else (4, 96)  # chapter 4: batch fast 4, crop 96; style image at 2 x crop
    net_cfg = TransformerNet.Config(**(dict(base_channels=8, num_res=1) if quick else dict(base_channels=16, num_res=5)))
    x = images(4 * batch, crop, seed=1).to(device)
    style = images(1, 2 * crop, seed=3).to(device)
    cfg = FastStyleConfig(style_weight=10.0 * 0.3, color_weight=10, lr=2e-3, batch_size=batch, style_size=2 * crop,
                          style_layers=("relu1_1", "relu2_1", "relu3_1"))
    net = seeded(0, lambda: TransformerNet(net_cfg))
    synthlib = trainer_run(fast_style_trainer(net, _vgg("relu5_1", device), style, fixed(split(x, batch)), cfg,
                                              device=device, progress=False, **RUN_OPTIONS))
    net = seeded(0, lambda: TransformerNet(net_cfg)).to(device)
    peer = peer_fast_style(net, style, fixed(split(x, batch)), device, lr=cfg.lr)
    return Pair(f"{crop}x{crop}x3 crops, TransformerNet (base {net_cfg.base_channels}, {net_cfg.num_res} res blocks), "
                f"batch {batch}; VGG16 losses", batch, synthlib, peer,
                "pytorch/examples fast_neural_style train (VGG16 to relu4_3, Gram MSE, .item())")


def calc_mean_std(feat: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """naoto0804/pytorch-AdaIN's ``calc_mean_std``: per-channel mean and std over the pixels."""
    n, c = feat.size()[:2]
    feat_std = (feat.view(n, c, -1).var(dim=2) + eps).sqrt().view(n, c, 1, 1)
    feat_mean = feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1)
    return feat_mean, feat_std


def peer_adain(decoder: nn.Module, layer: str, style_layers: Sequence[str], data: Iterator[Any], device: torch.device,
               lr: float, style_weight: float) -> Run:
    """naoto0804/pytorch-AdaIN ``train.py`` / ``net.Net.forward``: encode the style at relu1_1.. the AdaIN
    layer, the content at the AdaIN layer, t = AdaIN, g = decoder(t), content MSE of f(g) against t, style
    MSE of means and stds at every layer; Adam; ``.item()`` of both losses logged every step."""
    vgg, mse_loss = _vgg(layer, device), nn.MSELoss()
    optimizer = torch.optim.Adam(decoder.parameters(), lr=lr)
    decoder.train()

    def adain(content_feat: Tensor, style_feat: Tensor) -> Tensor:
        style_mean, style_std = calc_mean_std(style_feat)
        content_mean, content_std = calc_mean_std(content_feat)
        normalized_feat = (content_feat - content_mean) / content_std
        return normalized_feat * style_std + style_mean

    def calc_style_loss(input: Tensor, target: Tensor) -> Tensor:
        input_mean, input_std = calc_mean_std(input)
        target_mean, target_std = calc_mean_std(target)
        return mse_loss(input_mean, target_mean) + mse_loss(input_std, target_std)

    def run(num_steps: int) -> None:
        for _ in range(num_steps):
            content_images, style_images = next(data)
            style_feats = list(vgg(style_images, style_layers).values())
            content_feat = vgg(content_images, (layer,))[layer]
            t = adain(content_feat, style_feats[-1])
            g_t = decoder(t)
            g_t_feats = list(vgg(g_t, style_layers).values())
            loss_c = mse_loss(g_t_feats[-1], t)
            loss_s = sum(calc_style_loss(g, s) for g, s in zip(g_t_feats, style_feats))
            loss = loss_c + style_weight * loss_s
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            logged(loss_c, loss_s)  # writer.add_scalar(...) every iteration

    return run


def pair_adain(quick: bool, device: torch.device) -> Pair:
    from synthlib.style import AdaINConfig, adain_trainer
    from synthlib.style.style_nets import AdaINDecoder

    batch, crop, width = (2, 32, 0.25) if quick else (8, 96, 0.5)  # chapter 4: batch adain 8, crop 96, width 0.5
    layer, style_layers = "relu2_1", ("relu1_1", "relu2_1")  # the chapter's layer with the offline weights
    content, style = images(2 * batch, crop, seed=1).to(device), images(2 * batch, crop, seed=4).to(device)
    data = list(zip(split(content, batch), split(style, batch)))
    cfg = AdaINConfig(layer=layer, style_weight=1.0, lr=1e-3, batch_size=batch, recon_weight=1.0,
                      ema_half_life_img=800)
    dec_cfg = AdaINDecoder.Config(layer=layer, width=width)
    decoder = seeded(0, lambda: AdaINDecoder(dec_cfg))
    synthlib = trainer_run(adain_trainer(decoder, _vgg("relu5_1", device), fixed(data), cfg, device=device,
                                         progress=False, **RUN_OPTIONS))
    decoder = seeded(0, lambda: AdaINDecoder(dec_cfg)).to(device)
    peer = peer_adain(decoder, layer, style_layers, fixed(data), device, cfg.lr, cfg.style_weight)
    return Pair(f"{crop}x{crop}x3 content + style crops, AdaIN at {layer}, decoder width {width}, batch {batch}", batch,
                synthlib, peer, "naoto0804/pytorch-AdaIN train.py (paper's losses, .item()); synthlib adds its "
                "reconstruction term and EMA")


# ----------------------------------------------------------------------------------------------
# stylegan: chapter 5's StyleGAN2 pair, NVlabs' loop with the grouped modulated convolution
# ----------------------------------------------------------------------------------------------


def peer_stylegan(G: nn.Module, D: nn.Module, data: Iterator[Tensor], cfg: Any, G_ema: nn.Module) -> Run:
    """NVlabs stylegan2-ada-pytorch ``training_loop`` + ``StyleGAN2Loss``: phases Gmain, Greg (every
    ``pl_every``), Dmain, Dreg (every ``r1_every``), each with its own forward passes; the phase's module
    alone requires grad; reg losses times the interval; NaN/inf grads zeroed before each step; style mixing
    drawn per batch; G_ema lerped every step. ``G`` is built with ``fused_modconv=True``: each sample's
    modulated weights in one grouped convolution, as the StyleGAN2 paper (and its TF code) runs training."""

    def adam(module: nn.Module, interval: int) -> torch.optim.Optimizer:
        ratio = interval / (interval + 1)
        return torch.optim.Adam(module.parameters(), lr=cfg.lr * ratio, betas=(cfg.betas[0] ** ratio,
                                                                             cfg.betas[1] ** ratio), eps=1e-8)

    phases = [("Gmain", G, adam(G, cfg.pl_every), 1), ("Greg", G, None, cfg.pl_every),
              ("Dmain", D, adam(D, cfg.r1_every), 1), ("Dreg", D, None, cfg.r1_every)]
    phases = [(n, m, opt if opt is not None else phases[i - 1][2], every) for i, (n, m, opt, every) in enumerate(phases)]
    pl_mean = torch.zeros([], device=next(G.parameters()).device)
    ema_beta = 0.5 ** (cfg.batch_size / max(cfg.ema_half_life_img, 1e-8))
    state = {"batch_idx": 0}

    def run_G(z: Tensor) -> tuple[Tensor, Tensor]:
        w = G.mapping(z)
        G.update_w_avg(w.detach(), beta=cfg.w_avg_beta)
        ws = w[:, None].repeat(1, G.num_ws, 1)
        cutoff = torch.empty([], dtype=torch.int64, device=ws.device).random_(1, ws.shape[1])
        cutoff = torch.where(torch.rand([], device=ws.device) < cfg.mixing_prob, cutoff, torch.full_like(cutoff, ws.shape[1]))
        ws[:, cutoff:] = G.mapping(torch.randn_like(z))[:, None].expand(-1, G.num_ws, -1)[:, cutoff:]
        return G.synthesis(ws), ws

    def accumulate_gradients(phase: str, real_img: Tensor, gen_z: Tensor, gain: int) -> Tensor:
        nonlocal pl_mean
        if phase == "Gmain":
            gen_img, _ = run_G(gen_z)
            loss = F.softplus(-D(gen_img))
            loss.mean().mul(gain).backward()
        elif phase == "Greg":
            n = gen_z.shape[0] // cfg.pl_batch_shrink
            gen_img, gen_ws = run_G(gen_z[:n])
            pl_noise = torch.randn_like(gen_img) / math.sqrt(gen_img.shape[2] * gen_img.shape[3])
            (pl_grads,) = torch.autograd.grad(outputs=[(gen_img * pl_noise).sum()], inputs=[gen_ws], create_graph=True,
                                              only_inputs=True)
            pl_lengths = pl_grads.square().sum(2).mean(1).sqrt()
            pl_mean_new = pl_mean.lerp(pl_lengths.mean(), cfg.pl_decay)
            pl_mean = pl_mean_new.detach()
            loss = (pl_lengths - pl_mean_new).square() * cfg.pl_weight
            (gen_img[:, 0, 0, 0] * 0 + loss).mean().mul(gain).backward()
        elif phase == "Dmain":
            gen_img, _ = run_G(gen_z)
            loss_gen = F.softplus(D(gen_img))
            loss_gen.mean().mul(gain).backward()
            loss = F.softplus(-D(real_img.detach()))
            loss.mean().mul(gain).backward()
        else:  # Dreg
            real_img_tmp = real_img.detach().requires_grad_(True)
            real_logits = D(real_img_tmp)
            (r1_grads,) = torch.autograd.grad(outputs=[real_logits.sum()], inputs=[real_img_tmp], create_graph=True,
                                              only_inputs=True)
            loss = r1_grads.square().sum([1, 2, 3]) * (cfg.r1_gamma / 2)
            (real_logits * 0 + loss).mean().mul(gain).backward()
        return loss

    def run(num_steps: int) -> None:
        for _ in range(num_steps):
            real_img = next(data)
            losses = []
            for name, module, opt, interval in phases:
                if state["batch_idx"] % interval != 0:
                    continue
                gen_z = torch.randn([real_img.shape[0], G.config.z_dim], device=real_img.device)
                G.requires_grad_(False), D.requires_grad_(False)
                module.requires_grad_(True)
                opt.zero_grad(set_to_none=True)
                losses.append(accumulate_gradients(name, real_img, gen_z, gain=interval))
                module.requires_grad_(False)
                for param in module.parameters():
                    if param.grad is not None:
                        torch.nan_to_num(param.grad, nan=0, posinf=1e5, neginf=-1e5, out=param.grad)
                opt.step()
            with torch.no_grad():  # G_ema
                for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                    p_ema.copy_(p.lerp(p_ema, ema_beta))
                for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                    b_ema.copy_(b)
            state["batch_idx"] += 1
            logged(*(v.mean() for v in losses))  # the training_stats reports, synced every step here

    return run


def pair_stylegan(quick: bool, device: torch.device) -> Pair:
    import copy

    from synthlib.stylegan.discriminator import StyleGANDiscriminator
    from synthlib.stylegan.generator import StyleGANGenerator
    from synthlib.stylegan.training import StyleGANConfig, stylegan_trainer

    arch = (dict(base_channels=4, max_channels=16, z_dim=16, n_mlp=1) if quick      # chapter 5's smoke sizes
            else dict(base_channels=16, max_channels=128, z_dim=64, n_mlp=2))       # ... and default sizes
    batch = 8 if quick else 32
    x = images(2 * batch, 32, channels=1, seed=1).to(device)

    def nets(fused: bool) -> tuple[nn.Module, nn.Module]:
        G = StyleGANGenerator(StyleGANGenerator.Config(img_size=32, img_channels=1, w_dim=arch["z_dim"],
                                                       output="linear", fused_modconv=fused, **arch))
        D = StyleGANDiscriminator(StyleGANDiscriminator.Config(img_size=32, img_channels=1,
                                                               base_channels=arch["base_channels"],
                                                               max_channels=arch["max_channels"]))
        return G, D

    # StyleGAN2's regularisers as chapter 5's full profile and the course weights use them (lazy R1 every 16
    # steps, path length every 4, mixing 0.9); the default profile's EMA half-life
    cfg = StyleGANConfig(batch_size=batch, lr=2.5e-3, r1_gamma=0.05, pl_weight=2.0, mixing_prob=0.9,
                         ema_half_life_img=5000)
    G, D = seeded(0, lambda: nets(False))
    synthlib = trainer_run(stylegan_trainer(G, D, fixed(split(x, batch)), cfg, device=device, progress=False, **RUN_OPTIONS))
    G, D = (m.to(device) for m in seeded(0, lambda: nets(True)))
    peer = peer_stylegan(G, D, fixed(split(x, batch)), cfg, copy.deepcopy(G).eval().requires_grad_(False))
    period = 1 if quick else math.lcm(cfg.r1_every, cfg.pl_every)
    return Pair(f"32x32x1, G and D base {arch['base_channels']} max {arch['max_channels']} ch, z=w {arch['z_dim']}, "
                f"batch {batch}; D, G + lazy R1 (/16), path length (/4)", batch, synthlib, peer,
                "NVlabs stylegan2-ada training_loop phases with grouped-conv modulated convs (fused_modconv)",
                period=period)


# ----------------------------------------------------------------------------------------------
# inpaint and sr: chapter 6's networks, the papers' plain loops
# ----------------------------------------------------------------------------------------------


def peer_inpaint(G: nn.Module, data: Iterator[Any], lr: float, betas: tuple[float, float],
                 hole_weight: float, valid_weight: float) -> Run:
    """The plain loop of the partial-convolution paper's public PyTorch code (Liu et al.; naoto0804's
    pytorch-inpainting-with-partial-conv): output = G(image, mask), the hole and valid pixel losses
    (chapter 6's default squares them), weighted sum, Adam, ``.item()`` logging."""
    optimizer = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    G.train()

    def run(num_steps: int) -> None:
        for _ in range(num_steps):
            gt, hole = next(data)
            output = G(gt, hole)
            loss_hole = F.mse_loss(hole * output, hole * gt)
            loss_valid = F.mse_loss((1 - hole) * output, (1 - hole) * gt)
            loss = hole_weight * loss_hole + valid_weight * loss_valid
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            logged(loss_hole, loss_valid)

    return run


def pair_inpaint(quick: bool, device: torch.device) -> Pair:
    from synthlib.restoration import InpaintConfig, MaskedBatches, inpaint_trainer
    from synthlib.restoration.inpaint_net import InpaintUNet

    unet = dict(base_channels=8, depth=2, max_channels=16) if quick else dict(base_channels=24, depth=4, max_channels=128)
    crop, batch = (32, 8) if quick else (64, 32)  # chapter 6: crop 64, inpainting batch 2 x 16
    masked = MaskedBatches(iter(split(images(2 * batch, crop, seed=1), batch)), seed=0, reference=192)
    data = [tuple(t.to(device) for t in next(masked)) for _ in range(2)]
    net_cfg = InpaintUNet.Config(conv="gated", prefill="blend", fill_iters=100, **unet)
    cfg = InpaintConfig(lr=2e-4, betas=(0.9, 0.999), batch_size=batch, pixel_loss="mse")
    G = seeded(0, lambda: InpaintUNet(net_cfg))
    synthlib = trainer_run(inpaint_trainer(G, fixed(data), cfg, device=device, progress=False, **RUN_OPTIONS))
    G = seeded(0, lambda: InpaintUNet(net_cfg)).to(device)
    peer = peer_inpaint(G, fixed(data), cfg.lr, cfg.betas, cfg.hole_weight, cfg.valid_weight)
    return Pair(f"{crop}x{crop}x3 + hole, gated U-Net (base {unet['base_channels']}, depth {unet['depth']}) on "
                f"blended classical fills, batch {batch}", batch, synthlib, peer,
                "plain partial-conv-paper loop (hole/valid pixel losses, Adam, .item())")


def peer_sr(G: nn.Module, data: Iterator[Any], lr: float) -> Run:
    """SRResNet as the SRGAN paper's public PyTorch ports train it: sr = G(lr); MSE to the high-resolution
    crop; Adam(lr, betas 0.9, 0.999); ``.item()`` logged every step."""
    criterion, optimizer = nn.MSELoss(), torch.optim.Adam(G.parameters(), lr=lr, betas=(0.9, 0.999))
    G.train()

    def run(num_steps: int) -> None:
        for _ in range(num_steps):
            low, high = next(data)
            optimizer.zero_grad()
            loss = criterion(G(low), high)
            loss.backward()
            optimizer.step()
            logged(loss)

    return run


def pair_sr(quick: bool, device: torch.device) -> Pair:
    from synthlib.restoration import SRConfig, sr_trainer
    from synthlib.restoration.classical import downscale
    from synthlib.restoration.sr_net import SRResNet

    net = dict(base_channels=8, num_blocks=1) if quick else dict(base_channels=32, num_blocks=4)
    crop, batch = (32, 4) if quick else (64, 16)  # chapter 6: crop 64 (high), batch 16
    high = split(images(2 * batch, crop, seed=1).to(device), batch)
    data = [(downscale(h, 4), h) for h in high]
    cfg = SRConfig(lr=1e-3, batch_size=batch)
    G = seeded(0, lambda: SRResNet(SRResNet.Config(scale=4, **net)))
    synthlib = trainer_run(sr_trainer(G, fixed(data), cfg, device=device, progress=False, **RUN_OPTIONS))
    G = seeded(0, lambda: SRResNet(SRResNet.Config(scale=4, **net))).to(device)
    peer = peer_sr(G, fixed(data), cfg.lr)
    return Pair(f"{crop // 4} -> {crop} px x4, SRResNet (base {net['base_channels']}, {net['num_blocks']} blocks), "
                f"batch {batch}", batch, synthlib, peer, "plain SRResNet loop (MSE, Adam, .item())")


# ----------------------------------------------------------------------------------------------
# diffusion: chapter 7's U-Net against diffusers' UNet2DModel + DDPMScheduler
# ----------------------------------------------------------------------------------------------


def diffusers_unet(channels: tuple[int, ...], num_classes: int) -> nn.Module:
    """A ``UNet2DModel`` for 28 px grey images (two levels, attention at the lower one, as
    ``train_unconditional``'s smaller configs), class-conditional like chapter 7's network."""
    from diffusers import UNet2DModel

    return UNet2DModel(sample_size=28, in_channels=1, out_channels=1, layers_per_block=1, block_out_channels=channels,
                       norm_num_groups=8, num_class_embeds=num_classes + 1,
                       down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"))


def peer_diffusion(model: nn.Module, data: Iterator[Any]) -> Run:
    """diffusers' ``examples/unconditional_image_generation/train_unconditional.py`` step: noise, random
    timesteps, ``DDPMScheduler.add_noise``, epsilon MSE, backward, grad-norm clip 1.0, AdamW (1e-4,
    betas 0.95/0.999, weight decay 1e-6), the cosine lr schedule's step, ``EMAModel.step``, ``.item()``."""
    from diffusers import DDPMScheduler
    from diffusers.optimization import get_scheduler
    from diffusers.training_utils import EMAModel

    noise_scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.95, 0.999), weight_decay=1e-6, eps=1e-8)
    lr_scheduler = get_scheduler("cosine", optimizer=optimizer, num_warmup_steps=500, num_training_steps=100_000)
    ema_model = EMAModel(model.parameters(), decay=0.9999, use_ema_warmup=True, inv_gamma=1.0, power=3 / 4)
    model.train()

    def run(num_steps: int) -> None:
        for _ in range(num_steps):
            clean_images, labels = next(data)
            noise = torch.randn(clean_images.shape, device=clean_images.device)
            bsz = clean_images.shape[0]
            timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (bsz,),
                                      device=clean_images.device).long()
            noisy_images = noise_scheduler.add_noise(clean_images, noise, timesteps)
            model_output = model(noisy_images, timesteps, class_labels=labels).sample
            loss = F.mse_loss(model_output.float(), noise.float())
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            lr_scheduler.step()
            optimizer.zero_grad()
            ema_model.step(model.parameters())
            logged(loss.detach())

    return run


def pair_diffusion(quick: bool, device: torch.device) -> Pair:
    from synthlib.likelihood.diffusion import DiffusionConfig, denoiser_trainer
    from synthlib.likelihood.networks import DiffusionUNet

    channels, batch = ((8, 16), 16) if quick else ((32, 64), 64)  # chapter 7: channels (32, 64), patch 2, batch 64
    x = images(2 * batch, 28, channels=1, seed=1)
    labels = torch.arange(len(x)) % 10
    data = [(xi.to(device), yi.to(device)) for xi, yi in zip(split(x, batch), split(labels, batch))]
    net_cfg = DiffusionUNet.Config(num_classes=10, channels=channels, patch=2, schedule="cosine")
    cfg = DiffusionConfig(batch_size=batch, lr=1e-3, ema_half_life_img=20_000)
    model = seeded(0, lambda: DiffusionUNet(net_cfg))
    synthlib = trainer_run(denoiser_trainer(model, fixed(data), cfg, device=device, progress=False, **RUN_OPTIONS))
    ours = sum(p.numel() for p in model.parameters())
    # diffusers' widths chosen for about the same parameter count (32, 64 -> 0.70M against our 0.65M)
    peer_model = seeded(0, lambda: diffusers_unet(channels, 10)).to(device)
    theirs = sum(p.numel() for p in peer_model.parameters())
    peer = peer_diffusion(peer_model, fixed(data))
    return Pair(f"28x28x1 + class, DiffusionUNet {channels} patch 2 ({ours / 1e6:.2f}M), batch {batch}", batch, synthlib,
                peer, f"diffusers UNet2DModel {channels} ({theirs / 1e6:.2f}M) + DDPMScheduler.add_noise, "
                "train_unconditional's step")


BUILDERS: dict[str, Callable[[bool, torch.device], Pair]] = {
    "dcgan": pair_dcgan, "pix2pix": pair_pix2pix, "cyclegan": pair_cyclegan, "fast_style": pair_fast_style,
    "adain": pair_adain, "stylegan": pair_stylegan, "inpaint": pair_inpaint, "sr": pair_sr,
    "diffusion": pair_diffusion,
}


# ----------------------------------------------------------------------------------------------
# Where the time goes (for steps below half their ceiling)
# ----------------------------------------------------------------------------------------------

COMPUTE_OPS = ("conv", "mm", "matmul", "linear", "mkldnn", "cudnn", "gemm", "bmm", "baddbmm")


def profile_limit(run: Run, num_steps: int, device: torch.device, batch_size: int, share_of_ceiling: float,
                  flops_per_step: float, peak_gflops: float) -> str:
    """A short measured reason from ``torch.profiler`` over ``num_steps`` steps: the share of op time in
    convolutions and matmuls, the speed they reach against the matmul ceiling (small layers run far below
    it), the share left to the other ops (elementwise, norms, optimiser: bound by memory traffic, not
    arithmetic) and the top three ops."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        run(num_steps)
        dc.sync(device)
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    ops = [(e.key, float(getattr(e, attr))) for e in prof.key_averages() if e.key.startswith("aten::")]
    total = sum(t for _, t in ops) or 1.0  # microseconds
    compute_us = sum(t for k, t in ops if any(s in k for s in COMPUTE_OPS))
    compute_rate = flops_per_step * num_steps / max(compute_us, 1.0) / 1e3  # GFLOP/s inside convs and matmuls
    top = sorted(ops, key=lambda kt: -kt[1])[:3]
    return (f"{share_of_ceiling:.0%} of ceiling, batch {batch_size}: conv/matmul {compute_us / total:.0%} of op time "
            f"at {compute_rate / peak_gflops:.0%} of matmul speed; elementwise/norm/optimiser ops "
            f"{1 - compute_us / total:.0%}; top " + ", ".join(f"{k.removeprefix('aten::')} {t / total:.0%}" for k, t in top))


# ----------------------------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--families", default=",".join(FAMILIES), help=f"comma-separated, from: {', '.join(FAMILIES)}")
    p.add_argument("--steps", type=int, default=4, help="training steps per measured round (default 4; StyleGAN2 "
                   "rounds up to a multiple of its regularisation period, 16)")
    p.add_argument("--rounds", type=int, default=5, help="measured rounds per loop and family (default 5)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, ...")
    p.add_argument("--out", type=Path, default=OUT, help=f"the JSON table (default {OUT})")
    p.add_argument("--quick", action="store_true", help="seconds, not minutes: tiny sizes, 1 round of 1 step")
    args = p.parse_args(argv)
    args.families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [f for f in args.families if f not in FAMILIES]
    if unknown or not args.families:
        p.error(f"unknown families {unknown}; choose from {', '.join(FAMILIES)}")
    if args.quick:
        args.steps, args.rounds = 1, 1
    if args.steps < 1 or args.rounds < 1:
        p.error("--steps and --rounds must be >= 1")
    return args


def measure(name: str, pair: Pair, args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """Warm up, count the work, alternate rounds peer / synthlib; medians of images/s."""
    steps = math.ceil(args.steps / pair.period) * pair.period
    contenders = [dc.Contender("peer", pair.peer), dc.Contender("synthlib", pair.synthlib)]
    for c in contenders:
        c.warmup_s, _ = dc.timed(c.run, pair.period if args.quick else max(pair.period, 2), device)
    for c in contenders:  # over a whole period: the lazy regularisers' share of the work included
        c.flops = dc.step_flops(lambda _, run=c.run: run(pair.period)) / pair.period
    for _ in range(args.rounds):
        for c in contenders:
            wall, cpu = dc.timed(c.run, steps, device)
            c.img_per_s.append(steps * pair.batch_size / wall)
            c.img_per_cpu_s.append(steps * pair.batch_size / max(cpu, 1e-9))
    peer, ours = contenders
    return {
        "synthlib_img_s": statistics.median(ours.img_per_s),
        "peer_img_s": statistics.median(peer.img_per_s),
        "flops_per_img": ours.flops / pair.batch_size,
        "peer_flops_per_img": peer.flops / pair.batch_size,
        "paired_ratio": statistics.median(a / b for a, b in zip(ours.img_per_s, peer.img_per_s)),
        "batch_size": pair.batch_size, "steps_per_round": steps, "rounds": args.rounds,
        "warmup_s": {"synthlib": ours.warmup_s, "peer": peer.warmup_s},
        "shapes": pair.about, "peer": pair.peer_about,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Run the benchmark, print the table, write the JSON; return ``{family: row}``."""
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    what = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"torch {torch.__version__} | device {device} ({what}) | threads {torch.get_num_threads()}"
          f"{' | quick (tiny sizes)' if args.quick else ''}")
    print(f"{args.rounds} rounds of {args.steps} steps per family, alternating peer / synthlib; medians")
    rows: dict[str, dict[str, Any]] = {}
    pairs: dict[str, Pair] = {}
    for name in args.families:
        pair = pairs[name] = BUILDERS[name](args.quick, device)
        rows[name] = measure(name, pair, args, device)
        r = rows[name]
        print(f"{name:<11} {r['synthlib_img_s']:8.1f} img/s synthlib, {r['peer_img_s']:8.1f} peer "
              f"({r['synthlib_img_s'] / r['peer_img_s']:.2f}x) | {pair.about}", flush=True)
    # the ceiling: the same run's fp32 matmul rate over each step's counted work
    peak = dc.matmul_gflops(device)
    print(f"fp32 matmul (2048 x 2048) on this machine: {peak:.0f} GFLOP/s")
    for name, r in rows.items():
        r["ceiling_img_s"] = peak * 1e9 / r["flops_per_img"]
        r["ratio"] = r["synthlib_img_s"] / r["peer_img_s"]
        share = r["synthlib_img_s"] / r["ceiling_img_s"]
        r["limit"] = ""
        if share < 0.5:
            # the timed pair again (its timing is done): warmed up already, and no second set of models to build
            pair = pairs[name]
            r["limit"] = profile_limit(pair.synthlib, pair.period * (1 if args.quick else 2), device,
                                       pair.batch_size, share, r["flops_per_img"] * pair.batch_size, peak)

    header = (f"{'family':<11} {'synthlib':>9} {'peer':>9} {'ratio':>6} {'ceiling':>9} {'of ceil':>7} "
              f"{'MFLOP/img':>10} {'peer MFLOP':>10}  limit")
    print("\nimages/s (median); ceiling = fp32 matmul rate / synthlib's counted FLOPs per image")
    print(header)
    print("-" * len(header))
    for name, r in rows.items():
        print(f"{name:<11} {r['synthlib_img_s']:9.1f} {r['peer_img_s']:9.1f} {r['ratio']:5.2f}x "
              f"{r['ceiling_img_s']:9.1f} {r['synthlib_img_s'] / r['ceiling_img_s']:7.0%} "
              f"{r['flops_per_img'] / 1e6:10.1f} {r['peer_flops_per_img'] / 1e6:10.1f}  {r['limit'] or '-'}")
    for name, r in rows.items():
        print(f"  {name}: synthlib {r['shapes']}; peer: {r['peer']}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"torch": torch.__version__, "device": f"{device} ({what})", "threads": torch.get_num_threads(),
            "matmul_gflops": peak, "quick": args.quick}
    args.out.write_text(json.dumps({**rows, "_run": meta}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
