"""What the live view costs: chapter 2's DCGAN trained with and without a redrawing LiveView, side by side.

Rounds alternate (no view, view, no view, ...) on the same machine in one run; each trains a fresh pair for
``--seconds``. The view is forced live (``live=True``: it renders a frame every ``--every`` seconds, as in JupyterLab;
outside a notebook there is nowhere to show it, so only the rendering is paid, which is the cost). Printed: the
median images/s of each arm, their ratio, and the view's own measured share of the training time.

    python benchmarks/live_view_cost.py                  # 3 rounds of 20 s per arm (about 2 minutes)
    python benchmarks/live_view_cost.py --every 1        # a frame every second: the worst case
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthlib.core.live import LiveView, samples_preview  # noqa: E402
from synthlib.data import TensorBatches, from_uint8, load_fashion_mnist_uint8  # noqa: E402
from synthlib.gan import GANConfig, gan_trainer  # noqa: E402
from synthlib.gan.dcgan import DCGANDiscriminator, DCGANGenerator  # noqa: E402


def one_round(train_u8: torch.Tensor, seconds: float, every: float | None,
              max_share: float = 0.03) -> tuple[float, float, int]:
    """(images/s, the view's share of the time, frames) of one fresh DCGAN trained for ``seconds``."""
    torch.manual_seed(0)
    G = DCGANGenerator(DCGANGenerator.Config(z_dim=64, img_size=28, img_channels=1, base_channels=32))
    D = DCGANDiscriminator(DCGANDiscriminator.Config(img_size=28, img_channels=1, base_channels=32))
    cfg = GANConfig(z_dim=64, batch_size=64, lr_g=2e-3, lr_d=2e-3, r1_gamma=0.1, r1_every=16, ema_half_life_img=3000)
    trainer = gan_trainer(G, D, TensorBatches(train_u8, batch_size=64, seed=0, transform=from_uint8), cfg,
                          kind="dcgan", device="cpu", progress=False)
    view = None
    if every is not None:
        view = LiveView(samples_preview(16, seed=1), keys=["D/loss", "G/loss"], title="DCGAN", every_s=every, live=True,
                        max_share=max_share)
        view.attach(trainer)
    result = trainer.fit(max_seconds=seconds)
    share = view.draw_seconds / result.seconds if view else 0.0
    return result.images / result.seconds, share, view.draws if view else 0


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20.0, help="training time per round (default 20)")
    p.add_argument("--rounds", type=int, default=3, help="rounds per arm (default 3)")
    p.add_argument("--every", type=float, default=5.0, help="the view's seconds between frames (default 5, as in "
                   "the chapters)")
    p.add_argument("--max-share", type=float, default=0.03, help="the view's largest share of the time (default 0.03, "
                   "as in the chapters; the tests raise it so that a short, loaded run still draws twice)")
    args = p.parse_args(argv)
    train_u8 = load_fashion_mnist_uint8("train")[0]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; chapter 2's DCGAN (base 32, batch 64); "
          f"{args.rounds} rounds of {args.seconds:g} s per arm, alternating; a frame every {args.every:g} s")
    plain, viewed, shares, frames = [], [], [], []
    for r in range(args.rounds):
        plain.append(one_round(train_u8, args.seconds, None)[0])
        speed, share, n = one_round(train_u8, args.seconds, args.every, args.max_share)
        viewed.append(speed)
        shares.append(share)
        frames.append(n)
        print(f"round {r + 1}: no view {plain[-1]:,.0f} img/s | live view {speed:,.0f} img/s, {n} frames, "
              f"drawing {share:.1%} of the time", flush=True)
    out = {"plain_img_s": statistics.median(plain), "live_img_s": statistics.median(viewed),
           "draw_share": statistics.median(shares), "frames": statistics.median(frames)}
    out["ratio"] = out["live_img_s"] / out["plain_img_s"]
    print(f"median images/s: no view {out['plain_img_s']:,.0f}, live view {out['live_img_s']:,.0f}; "
          f"ratio {out['ratio']:.3f} (slowdown {1 - out['ratio']:.1%}); drawing's own share {out['draw_share']:.1%}")
    return out


if __name__ == "__main__":
    main()
