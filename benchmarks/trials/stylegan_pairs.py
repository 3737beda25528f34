"""Trial behind chapter 5's status note: which half of the StyleGAN pair is slow to learn on a CPU budget?

Trains a generator (sg = StyleGAN2's at 32 px, base 16 / max 128 channels; sgt = the same with a tanh output; dc = chapter 2's DCGAN) against a
discriminator (sg = StyleGAN2's residual D; dc = DCGAN's, batch norm) with chapter 2's GAN recipe (non-saturating
loss, R1 every 16 steps, EMA of G) on Fashion-MNIST padded to 32 px, and prints FID (chapter 2's classifier, 2,000
samples cropped to 28 px) three times.

    .venv/bin/python benchmarks/trials/stylegan_pairs.py SECONDS G D LR B1 B2 [LR_D [GAMMA [MBSTD_GROUP [D_BASE]]]]
    # e.g. 90 sg dc 2e-3 0.5 0.999

Measured 2026-11-24 (90 s each, 2-core CPU, FID after the last third): sg G + dc D 25.9 (998 steps); dc G + sg D
29.3 (594); sg + sg 52-75 whatever the learning rates, betas (0.5/0.999 or 0/0.99), R1 weight (0.1, 2),
minibatch-std group (1, 4, 32), D width (base 8 or 16), D's lr (5e-4 .. 1e-2), a tanh on G's output (sgt) or
DiffAugment (through chapter 5's recipe). Run it alone (2 cores).
After the up-sampling gain fix (2026-11-25, SG_STEPS=600, FID at the end): sg + sg 48.3 (62.8 before the fix),
sg + dc 30.6, dc + sg 21.0; sg + sg with G's lr 6e-3 (D 2e-3) 54.3, with D's lr 6e-4 (G 2e-3) 52.8; 1,200 steps 39.6.
Measured 2026-11-25 (SG_STEPS=600, one thread, sg + sg, 2e-3 0 0.99 unless named; FID(ema) / recall after 200,
400, 600 steps, recall in brackets at 600; FID moves by ~4 between runs that differ only in the global RNG, so
read gaps under ~5 as noise):
baseline 47.3/.004, 45.0/.005, 48.3/.002 (raw G 46.2, 47.3, 47.6, recall .007-.002: the EMA neither hides nor
causes it); NVlabs' cifar D layout orig 48.8, 47.2, 45.0 (recall .006-.001); skip D 44.5, 44.6, 39.6 (.003-.002);
mbstd group 32 48.7, 47.6, 43.6 (.003); 16 mbstd channels 54.0, 45.4, 43.4 (.006); 128 (one per feature) 74.0,
55.4, 57.5 (.000); R1 gamma 0.01 46.5, 47.9, 49.3 (.001), 1.0 45.1, 45.6, 43.3 (.011); betas 0.5 0.99 58.8, 55.0,
45.7 (.001); lr 5e-4 for both 64.1, 52.3, 55.8 (.003); G base 32 49.7, 54.1, 50.8 (.001); D base 32 47.6, 44.0,
44.6 (.026 at 200, then .005); batch 64 45.9, 48.6, 49.0 (.005); no noise inputs 51.5, 52.3, 57.8 (.001);
mapping lr_mul 1 46.8, 47.4, 45.9 (.006). Every sg + sg run collapses (recall <= .03, precision .3-.8); its D
wins (mean logits real ~+2.4, fake ~-1.6 by step 400). The grids (SG_GRID) show one silhouette in one place for
every z, varying only in brightness and high-frequency speckle; the noise strengths stay ~0 (<= 0.2 at 32 px) and
fresh noise (SG_EVAL_NOISE=random) changes FID by <= 4, so the noise is not the variety either. A G after 1-3
steps scores recall .007-.02 (smoke runs): training removes what variety there is. sg G + dc D, for comparison: 59.2/.011,
34.4/.075, 29.0/.176 (random noise 28.0/.265), smooth saturated blobs, no speckle.

Measured 2026-11-25, later (SG_STEPS=600, two threads, FID(ema) / recall at 600 steps; SG_LEVELS=1 prints the
standard deviation of each ToRGB level's own contribution, 4/8/16/32 px, at the start 1.15 0.64 0.64 0.50):
  sg G + dc D (batch norm)            28.9 / .126   levels grow:   1.19 0.50 1.26 2.64
  sg G + sg D                         46.7 / .006   levels shrink: 0.44 0.23 0.16 0.33
  sg G + sg D, mbstd off (group 1)    step 400: 47.3 / .002, levels 0.52 0.24 0.16 0.27 (as with it)
  sg G + dc D without batch norm      40.2 / .012   levels shrink: 0.49 0.21 0.20 0.33   (SG_DC_NORM=none)
  sg G + dc D with spectral norm      43.4 / .020   levels shrink: 0.54 0.24 0.20 0.38   (SG_DC_NORM=spectral)
  sg G with z also added to the 4x4 input (SG_CONST_Z=1) + sg D: 47.1 / .004
  dc G (batch norm) + dc D without batch norm: 12.8 / .513 (healthy)
So the StyleGAN generator collapses against every discriminator without batch statistics, StyleGAN's own or
DCGAN's without batch norm or with spectral norm, and only batch norm in D stops it; a DCGAN generator, whose batch
norm keeps every feature's variance across the batch at 1, does not collapse against the same norm-free D. The
StyleGAN generator has nothing that keeps its samples apart (demodulation normalises each sample's expected
statistics, not the batch's), and minibatch standard deviation, StyleGAN's answer, does not stop it in this budget.

Measured 2026-11-25, longer (SG_STEPS=6000, two threads, 1,308 s of training): sg G + sg D FID(ema) / recall after
2,000, 4,000, 6,000 steps: 31.4 / .084, 19.7 / .168, 14.6 / .278 (precision .64 -> .75). The pair's collapse is an
early phase that it grows out of, slowly: the StyleGAN generator against the batch-norm D (with a tanh output) is
further after 1,800 steps (FID 11.9 / recall .43 in chapter 5's run, whose steps also cost half as much) than the
pair after 6,000.

Printed per third: FID of G_ema (sample(), fixed noise buffers) with precision P and recall R (Kynkaenniemi et al.,
k = 3, chapter 2's classifier features of the same 5,000 test images); recall is the collapse indicator.

Environment options: OMP_NUM_THREADS (torch threads, default 1); SG_STEPS=N trains N steps instead of SECONDS
(the pairs' steps cost very different times); SG_UP_BLUR_GAIN=g multiplies the blur after G's upsampling
convs (0.25 reproduces the pre-fix generator, whose up-convs lacked StyleGAN2's gain of 4); SG_NO_NOISE=1 drops
G's per-pixel noise inputs. Added 2026-11-25 (defaults keep the behaviour above): SG_D_ARCH=resnet|orig|skip
(orig: each D block conv0 -> conv1_down, no skip and no 1/sqrt(2), as NVlabs' cifar config; skip: the same blocks
plus a fromRGB of the 2x-downsampled image added before every later block and the epilogue); SG_MBSTD_CH=F
minibatch-std channels (NVlabs' num_channels, default 1; F must divide D's 4x4 channels); SG_G_BASE (G's
base channels, default 16, max 8 x base); SG_BATCH (default 32); SG_LOSS (a synthlib GAN loss name, default
nonsaturating); SG_R1_EVERY (lazy R1 interval, default 16); SG_MAP_LRMUL (mapping network's lr multiplier,
default 0.01); SG_RAW=1 also scores the raw G; SG_EVAL_NOISE=random|none also scores G_ema with that noise
mode; SG_LOG=1 appends G's noise strengths, D's mean real / fake logits, the R1 term and G's loss over the
third; SG_GRID=prefix saves 64 G_ema samples as prefix_STEP.png. SG_LEVELS=1 prints the raw G's level contributions
(sg G only); SG_DC_NORM=batch|spectral|none picks the DCGAN discriminator's normalisation; SG_CONST_Z=1 (not
StyleGAN) adds a learned map of w to G's constant 4x4 input.
"""
import os, sys, time, types, torch
from torch import nn
from synthlib.data import TensorBatches, from_uint8, load_fashion_mnist_uint8
from synthlib.metrics.fid import FIDEvaluator, classifier_features
from synthlib.metrics.prdc import precision_recall
from synthlib.models.dcgan import DCGANDiscriminator, DCGANGenerator
from synthlib.models.stylegan import EqualConv2d, StyleGANDiscriminator, StyleGANGenerator, downsample2d
from synthlib.stylegan import pad_to_32, crop_to_28
from synthlib.gan import GANConfig, gan_trainer
from synthlib.sample import sample
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
secs, gk, dk, lr, b1, b2 = float(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
torch.manual_seed(0)
train_u8, _ = load_fashion_mnist_uint8("train"); test_u8, _ = load_fashion_mnist_uint8("test")
evaluate = FIDEvaluator(from_uint8(test_u8[:5000]), kid_subsets=10)
real_features = classifier_features(from_uint8(test_u8[:5000]))  # precision / recall against the same 5,000 test images
class SGT(StyleGANGenerator):
    def forward(self, z, **kw):
        return torch.tanh(super().forward(z, **kw))
gbase = int(os.environ.get("SG_G_BASE", "16"))
G = (SGT if gk == "sgt" else StyleGANGenerator)(StyleGANGenerator.Config(img_size=32, img_channels=1, z_dim=64, w_dim=64, n_mlp=2, base_channels=gbase, max_channels=8 * gbase, lr_mul=float(os.environ.get("SG_MAP_LRMUL", "0.01")))) if gk in ("sg", "sgt") else DCGANGenerator(DCGANGenerator.Config(z_dim=64, img_size=32, img_channels=1, base_channels=32))
if os.environ.get("SG_UP_BLUR_GAIN") and gk in ("sg", "sgt"):  # A/B of the up-convs' blur gain (StyleGAN2: 4 x the normalised filter)
    for m in G.modules():
        if getattr(m, "up", False):
            m.kernel = m.kernel * float(os.environ["SG_UP_BLUR_GAIN"])
if os.environ.get("SG_NO_NOISE") and gk in ("sg", "sgt"):  # no per-pixel noise inputs (strength fixed at 0)
    for m in G.modules():
        if hasattr(m, "strength"):
            m.strength.requires_grad_(False)
            m.forward = lambda x, noise=None: x
if os.environ.get("SG_CONST_Z") and gk in ("sg", "sgt"):  # not StyleGAN: the 4x4 input is const + a learned map of w,
    # so that z also enters additively (as in a DCGAN), not only by rescaling the constant's channels
    from synthlib.models.stylegan import EqualLinear
    c4 = G.const.shape[1]
    G.const_map = EqualLinear(G.config.w_dim, c4 * 16)
    def _synthesis(self, ws, noise_mode="random", noise=None):  # G.synthesis with the per-sample input
        ws = self._ws(ws)
        noise = [None] * self.num_layers if noise is None else noise
        x = self.const + self.const_map(ws[:, 0]).reshape(-1, c4, 4, 4)
        x = self.convs[0](x, ws[:, 0], noise_mode, noise[0])
        rgb = self.to_rgbs[0](x, ws[:, 1])
        for b in range(1, len(self.to_rgbs)):
            i = 2 * b - 1
            x = self.convs[i](x, ws[:, i], noise_mode, noise[i])
            x = self.convs[i + 1](x, ws[:, i + 1], noise_mode, noise[i + 1])
            rgb = self.to_rgbs[b](x, ws[:, i + 2], skip=rgb)
        return rgb
    G.synthesis = types.MethodType(_synthesis, G)
def levels(g):  # the standard deviation of each ToRGB level's own contribution (g's image is their upsampled sum)
    with torch.no_grad():
        ws = g.mapping(torch.randn(256, g.config.z_dim, generator=torch.Generator().manual_seed(5)))[:, None].expand(-1, g.num_ws, -1)
        x = g.convs[0](g.const.expand(256, -1, -1, -1), ws[:, 0], "const")
        out = [g.to_rgbs[0](x, ws[:, 1]).std().item()]
        for b in range(1, len(g.to_rgbs)):
            i = 2 * b - 1
            x = g.convs[i + 1](g.convs[i](x, ws[:, i], "const"), ws[:, i + 1], "const")
            out.append(g.to_rgbs[b](x, ws[:, i + 2]).std().item())
    return " ".join(f"{v:.2f}" for v in out)
dbase = int(sys.argv[10]) if len(sys.argv) > 10 else 16
D = StyleGANDiscriminator(StyleGANDiscriminator.Config(img_size=32, img_channels=1, base_channels=dbase, max_channels=8 * dbase, mbstd_group=int(sys.argv[9]) if len(sys.argv) > 9 else 4)) if dk == "sg" else DCGANDiscriminator(DCGANDiscriminator.Config(img_size=32, img_channels=1, base_channels=32, norm=os.environ.get("SG_DC_NORM", "batch")))
lr_d = float(sys.argv[7]) if len(sys.argv) > 7 else lr
gamma = float(sys.argv[8]) if len(sys.argv) > 8 else 0.1
D_ARCH = os.environ.get("SG_D_ARCH", "resnet")
if dk == "sg" and D_ARCH == "orig":  # NVlabs' architecture='orig' (their cifar config): conv0 -> conv1_down, no skip, no 1/sqrt(2)
    for blk in D.blocks:
        del blk.skip
        blk.forward = types.MethodType(lambda self, x: self.conv1(self.conv0(x)), blk)
elif dk == "sg" and D_ARCH == "skip":  # NVlabs' architecture='skip': no residual; a fromRGB of the downsampled image
    # is added at the input of every block and of the epilogue (StyleGAN2's config-e D)
    for blk in D.blocks:
        del blk.skip
        blk.forward = types.MethodType(lambda self, x: self.conv1(self.conv0(x)), blk)
    D.skip_rgbs = nn.ModuleList(EqualConv2d(1, blk.conv0.weight.shape[1], 1, activation=True) for blk in D.blocks[1:])
    D.skip_rgbs.append(EqualConv2d(1, D.conv.weight.shape[0], 1, activation=True))
    def _skip_forward(self, img, labels=None):
        x = self.from_rgb(img)
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            img = downsample2d(img, blk.conv1.kernel)
            x = x + self.skip_rgbs[i](img)
        x = self.conv(self.mbstd(x))
        return self.out(self.fc(x.flatten(1))).reshape(img.shape[0])
    D.forward = types.MethodType(_skip_forward, D)
elif dk == "sg" and D_ARCH != "resnet":
    raise SystemExit(f"SG_D_ARCH must be resnet, orig or skip, got {D_ARCH!r}")
class MbstdF(nn.Module):  # NVlabs' MinibatchStdLayer with num_channels F: the features split into F groups, one std channel each
    def __init__(self, group, f):
        super().__init__(); self.group, self.f = group, f
    def forward(self, x):
        n, c, h, w = x.shape
        g = min(self.group, n)
        while n % g:
            g -= 1
        y = x.reshape(g, -1, self.f, c // self.f, h, w)
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(2, 3, 4))  # (n / g, F)
        y = y.reshape(-1, self.f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)
mbstd_f = int(os.environ.get("SG_MBSTD_CH", "1"))
if dk == "sg" and mbstd_f != 1:
    c4 = D.conv.weight.shape[0]
    D.mbstd = MbstdF(D.mbstd.group_size, mbstd_f)
    D.conv = EqualConv2d(c4 + mbstd_f, c4, 3, activation=True)
bs = int(os.environ.get("SG_BATCH", "32"))
cfg = GANConfig(loss=os.environ.get("SG_LOSS", "nonsaturating"), z_dim=64, batch_size=bs, lr_g=lr, lr_d=lr_d, betas=(b1, b2), r1_gamma=gamma, r1_every=int(os.environ.get("SG_R1_EVERY", "16")), ema_half_life_img=3000)
t = gan_trainer(G, D, TensorBatches(train_u8, batch_size=bs, seed=0, transform=lambda u: pad_to_32(from_uint8(u))), cfg, kind="dcgan", device="cpu", progress=False)
levels0 = levels(G) if os.environ.get("SG_LEVELS") and gk == "sg" and not os.environ.get("SG_CONST_Z") else ""
t0 = time.time()
for c in range(3):
    prev_step = t.step
    # SG_STEPS=N: a fixed number of steps instead of a time budget (compares pairs whose steps cost differently)
    t.fit((c + 1) * int(os.environ["SG_STEPS"]) // 3) if os.environ.get("SG_STEPS") else t.fit(10**6, max_seconds=secs / 3)
    el = time.time() - t0
    img = crop_to_28(sample(t.emas['G_ema'].model, 2000, seed=1))
    if os.environ.get("SG_GRID"):  # SG_GRID=prefix: 64 of G_ema's samples as prefix_STEP.png
        import torchvision.utils
        torchvision.utils.save_image(img[:64].clamp(-1, 1) * 0.5 + 0.5, f"{os.environ['SG_GRID']}_{t.step}.png", nrow=8)
    pr = precision_recall(real_features, classifier_features(img))
    line = f"{gk}/{dk} step {t.step} {el:.0f}s FID(ema) {evaluate(img)['fid']:.1f} P {pr['precision']:.3f} R {pr['recall']:.3f}"
    if os.environ.get("SG_LEVELS") and gk == "sg" and not os.environ.get("SG_CONST_Z"):
        line += f" | levels 4/8/16/32 px {levels(G)} (start {levels0})"
    if os.environ.get("SG_RAW"):  # the raw (non-averaged) G as well: is the EMA hiding or causing something?
        img = crop_to_28(sample(G, 2000, seed=1))
        pr = precision_recall(real_features, classifier_features(img))
        line += f" | raw FID {evaluate(img)['fid']:.1f} P {pr['precision']:.3f} R {pr['recall']:.3f}"
    if os.environ.get("SG_EVAL_NOISE") and gk in ("sg", "sgt"):  # G_ema with fresh per-pixel noise (sample() uses the fixed noise buffers)
        m, gen = t.emas['G_ema'].model, torch.Generator().manual_seed(1)
        with torch.no_grad():
            img = torch.cat([m(torch.randn(250, 64, generator=gen), noise_mode=os.environ["SG_EVAL_NOISE"]).clamp(-1, 1) for _ in range(8)])
        pr = precision_recall(real_features, classifier_features(crop_to_28(img)))
        line += f" | {os.environ['SG_EVAL_NOISE']} noise FID {evaluate(crop_to_28(img))['fid']:.1f} P {pr['precision']:.3f} R {pr['recall']:.3f}"
    if os.environ.get("SG_LOG") and gk in ("sg", "sgt"):  # G's noise strengths
        line += " | noise " + " ".join(f"{m.strength.item():+.2f}" for m in G.modules() if hasattr(m, "strength"))
    if os.environ.get("SG_LOG"):  # D's mean logits, R1 and G's loss over this third
        h, lo = t.history, prev_step
        avg = lambda k: sum(v for s_, v in zip(h[k]["step"], h[k]["value"]) if s_ >= lo) / max(1, sum(s_ >= lo for s_ in h[k]["step"])) if k in h else float("nan")
        line += f" | D real {avg('D/real_logits'):+.2f} fake {avg('D/fake_logits'):+.2f} r1 {avg('D_r1/loss'):.3f} G loss {avg('G/loss'):.2f}"
    print(line, flush=True)
