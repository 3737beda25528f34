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

Environment options: OMP_NUM_THREADS (torch threads, default 1); SG_STEPS=N trains N steps instead of SECONDS
(the pairs' steps cost very different times); SG_UP_BLUR_GAIN=g multiplies the blur after G's upsampling
convs (0.25 reproduces the pre-fix generator, whose up-convs lacked StyleGAN2's gain of 4); SG_NO_NOISE=1 drops
G's per-pixel noise inputs.
"""
import os, sys, time, torch
from synthlib.data import TensorBatches, from_uint8, load_fashion_mnist_uint8
from synthlib.metrics.fid import FIDEvaluator
from synthlib.models.dcgan import DCGANDiscriminator, DCGANGenerator
from synthlib.models.stylegan import StyleGANDiscriminator, StyleGANGenerator
from synthlib.stylegan import pad_to_32, crop_to_28
from synthlib.gan import GANConfig, gan_trainer
from synthlib.sample import sample
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
secs, gk, dk, lr, b1, b2 = float(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
torch.manual_seed(0)
train_u8, _ = load_fashion_mnist_uint8("train"); test_u8, _ = load_fashion_mnist_uint8("test")
evaluate = FIDEvaluator(from_uint8(test_u8[:5000]), kid_subsets=10)
class SGT(StyleGANGenerator):
    def forward(self, z, **kw):
        return torch.tanh(super().forward(z, **kw))
G = (SGT if gk == "sgt" else StyleGANGenerator)(StyleGANGenerator.Config(img_size=32, img_channels=1, z_dim=64, w_dim=64, n_mlp=2, base_channels=16, max_channels=128)) if gk in ("sg", "sgt") else DCGANGenerator(DCGANGenerator.Config(z_dim=64, img_size=32, img_channels=1, base_channels=32))
if os.environ.get("SG_UP_BLUR_GAIN") and gk in ("sg", "sgt"):  # A/B of the up-convs' blur gain (StyleGAN2: 4 x the normalised filter)
    for m in G.modules():
        if getattr(m, "up", False):
            m.kernel = m.kernel * float(os.environ["SG_UP_BLUR_GAIN"])
if os.environ.get("SG_NO_NOISE") and gk in ("sg", "sgt"):  # no per-pixel noise inputs (strength fixed at 0)
    for m in G.modules():
        if hasattr(m, "strength"):
            m.strength.requires_grad_(False)
            m.forward = lambda x, noise=None: x
dbase = int(sys.argv[10]) if len(sys.argv) > 10 else 16
D = StyleGANDiscriminator(StyleGANDiscriminator.Config(img_size=32, img_channels=1, base_channels=dbase, max_channels=8 * dbase, mbstd_group=int(sys.argv[9]) if len(sys.argv) > 9 else 4)) if dk == "sg" else DCGANDiscriminator(DCGANDiscriminator.Config(img_size=32, img_channels=1, base_channels=32))
lr_d = float(sys.argv[7]) if len(sys.argv) > 7 else lr
gamma = float(sys.argv[8]) if len(sys.argv) > 8 else 0.1
cfg = GANConfig(z_dim=64, batch_size=32, lr_g=lr, lr_d=lr_d, betas=(b1, b2), r1_gamma=gamma, r1_every=16, ema_half_life_img=3000)
t = gan_trainer(G, D, TensorBatches(train_u8, batch_size=32, seed=0, transform=lambda u: pad_to_32(from_uint8(u))), cfg, kind="dcgan", device="cpu", progress=False)
t0 = time.time()
for c in range(3):
    # SG_STEPS=N: a fixed number of steps instead of a time budget (compares pairs whose steps cost differently)
    t.fit((c + 1) * int(os.environ["SG_STEPS"]) // 3) if os.environ.get("SG_STEPS") else t.fit(10**6, max_seconds=secs / 3)
    img = crop_to_28(sample(t.emas['G_ema'].model, 2000, seed=1))
    print(f"{gk}/{dk} step {t.step} {time.time()-t0:.0f}s FID(ema) {evaluate(img)['fid']:.1f}", flush=True)
