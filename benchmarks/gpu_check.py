"""`make gpu-check`: what one lent GPU does with the course, in at most about 8 minutes, written to a dated report.

Run it once in any session whose `device` tool lends a GPU, and commit the report it writes
(`benchmarks/results/gpu-<date>.md`). It measures, on the GPU:

1. the card's fp32 and bf16 matmul rates (2048 x 2048 and 4096 x 4096), the ceilings of everything below;
2. every family's training step (`family_speed.py`'s pairs: the chapters' default-profile shapes) against its
   peer's, images/s and their ratio, with the loop's own settings on CUDA (bf16 autocast where it applies,
   channels_last); where synthlib is slower than its peer (``--ablate-below``), the same with channels_last off
   and with fp32, so the report says which default costs the time;
3. chapter 2's DCGAN step with and without `torch.compile` (the same trainer, `compile=True`);
4. a burst of chapter 5's StyleGAN2 pair with its own residual discriminator and the paper's regularisers (the
   `stylegan-fashion` recipe) trained for `--burst` seconds, scored with the course's FID on Fashion-MNIST: does the
   pair that collapses in a CPU's minutes learn when a GPU gives it the steps?
5. what each notebook's full profile becomes: its training budgets are seconds, so on this card they buy
   (budget x measured images/s) images, printed per family.

Without a GPU it runs the same code on the CPU with tiny sizes (`--tiny`, what the tests do), so it is ready for the
session that gets one:

    python benchmarks/gpu_check.py                      # on the GPU: about 6-8 minutes
    python benchmarks/gpu_check.py --tiny --device cpu  # seconds: checks that it runs
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dcgan_speed as dc  # noqa: E402
import family_speed as fs  # noqa: E402

from synthlib.core.train import pick_device  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Each family's training budget in its notebook's full profile (seconds), as the notebooks set them.
FULL_BUDGETS = {"dcgan": 600, "pix2pix": 300, "cyclegan": 600, "fast_style": 900, "adain": 1200, "stylegan": 3600,
                "inpaint": 2400, "sr": 1800, "diffusion": 1800}


def compile_rows(device: torch.device, tiny: bool, steps: int) -> dict[str, float]:
    """Chapter 2's DCGAN step (pytorch/examples' sizes, or a quarter of them when tiny) with and without compile."""
    width, batch = (16, 16) if tiny else (dc.NGF, dc.BATCH_SIZE)
    x = fs.images(2 * batch, dc.IMG_SIZE)
    out = {}
    for label, options in (("eager", {}), ("compiled", {"compile": True})):
        G, D = dc.build_models(seed=0, width=width)
        run = dc.run_for(dc.synthlib_trainer(G, D, fs.fixed(fs.split(x.to(device), batch)), device, batch_size=batch,
                                             **options))
        warm, _ = dc.timed(run, 2, device)  # compilation happens here, not in the measured steps
        wall, _ = dc.timed(run, steps, device)
        out[label] = steps * batch / wall
        out[f"{label}_warmup_s"] = warm
    return out


# The loop's CUDA defaults, each turned off in turn (the first is the defaults themselves).
VARIANTS: dict[str, dict[str, Any]] = {"defaults (bf16, channels_last)": {}, "channels_last off": {"channels_last": False},
                                      "fp32 (no autocast)": {"precision": "fp32"}}


def ablate(rows: dict[str, dict[str, Any]], below: float, device: torch.device,
           spec: argparse.Namespace) -> dict[str, dict[str, str]]:
    """For each family whose ratio to its peer is under ``below``: the ratio again under each of VARIANTS."""
    out: dict[str, dict[str, str]] = {}
    for family, r in rows.items():
        if r["synthlib_img_s"] / r["peer_img_s"] >= below:
            continue
        out[family] = {}
        for label, options in VARIANTS.items():
            fs.RUN_OPTIONS.update(options)
            try:
                m = r if not options else fs.measure(family, fs.BUILDERS[family](spec.quick, device), spec, device)
                out[family][label] = f"{m['synthlib_img_s'] / m['peer_img_s']:.2f}x ({m['synthlib_img_s']:,.0f} img/s)"
            except Exception as e:  # e.g. a family whose method needs fp32 anyway
                out[family][label] = f"failed: {type(e).__name__}"
            finally:
                fs.RUN_OPTIONS.clear()
        print(f"{family:<11} " + ", ".join(f"{k}: {v}" for k, v in out[family].items()), flush=True)
    return out


def stylegan_burst(seconds: float, tiny: bool) -> dict[str, Any]:
    """The stylegan-fashion recipe (StyleGAN2's own D, R1, path length, mixing) for ``seconds``, then the course FID."""
    from synthlib.course_weights.generators import _stylegan_score
    from synthlib.course_weights.recipes import RECIPES

    recipe = RECIPES["stylegan-fashion"]
    torch.manual_seed(recipe.seed)
    trainer = recipe.build(recipe, tiny)
    t0 = time.perf_counter()
    trainer.fit(max_seconds=seconds)
    train_s = time.perf_counter() - t0
    scores = _stylegan_score({"G_ema": trainer.model("G_ema").eval()}, tiny)
    return {"steps": trainer.step, "images": trainer.num_img, "seconds": train_s, "device": str(trainer.device),
            **{k: scores[k] for k in ("fid", "precision", "recall", "num_samples")}}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cuda, cuda:1, cpu")
    p.add_argument("--tiny", action="store_true", help="tiny sizes, one round, a 2 s burst (for tests on a CPU)")
    p.add_argument("--burst", type=float, default=120.0, help="seconds of StyleGAN2 training (default 120)")
    p.add_argument("--families", default=",".join(fs.FAMILIES), help="comma-separated, from: " + ", ".join(fs.FAMILIES))
    p.add_argument("--skip-compile", action="store_true", help="leave out the torch.compile rows (compiling takes "
                   "a minute on a CPU; the tests skip it)")
    p.add_argument("--ablate-below", type=float, default=0.95, help="re-measure each family below this ratio to its "
                   "peer with channels_last off and with fp32, to say which default costs the time (0: skip)")
    p.add_argument("--out", type=Path, default=None, help="the report (default benchmarks/results/gpu-<date>.md)")
    args = p.parse_args(argv)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = sorted(set(families) - set(fs.FAMILIES))
    if unknown:
        p.error(f"unknown families {unknown}; choose from {', '.join(fs.FAMILIES)}")
    device = pick_device(args.device)
    burst = 1.0 if args.tiny else args.burst
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    date = dt.date.today().isoformat()
    out = args.out or ROOT / "benchmarks" / "results" / f"gpu-{date}{'-tiny' if args.tiny else ''}.md"
    started = time.perf_counter()
    lines = [f"# GPU check, {date}", "", f"`python benchmarks/gpu_check.py {' '.join(argv or sys.argv[1:])}`".rstrip(),
             "", f"- device: {device} ({name}); torch {torch.__version__}; tiny sizes: {args.tiny}"]

    n = 256 if args.tiny else 4096
    fp32 = dc.matmul_gflops(device, n)
    bf16 = dc.matmul_gflops(device, n, dtype=torch.bfloat16) if device.type == "cuda" or args.tiny else float("nan")
    lines.append(f"- matmul {n} x {n}: fp32 {fp32:,.0f} GFLOP/s, bf16 {bf16:,.0f} GFLOP/s")
    print("\n".join(lines), flush=True)

    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:  # after every section: a check cut short (a lease ends, one family fails) keeps what it measured
        out.write_text("\n".join(lines) + "\n")

    spec = argparse.Namespace(steps=1 if args.tiny else 8, rounds=1 if args.tiny else 3, quick=args.tiny)
    rows: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    lines += ["", "## Every family's training step (chapters' default-profile shapes)", "",
              "| family | synthlib img/s | peer img/s | ratio | share of fp32 matmul rate "
              "| images in the full profile's budget |",
              "|---|---|---|---|---|---|"]
    for family in families:
        try:
            pair = fs.BUILDERS[family](args.tiny, device)
            rows[family] = r = fs.measure(family, pair, spec, device)
        except Exception as e:  # one family's failure is a finding to report, not a reason to lose the others
            failed[family] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            lines.append(f"| {family} | failed: {failed[family]} | | | | |")
            print(f"{family:<11} FAILED {failed[family]}", flush=True)
            save()
            continue
        share = r["synthlib_img_s"] * r["flops_per_img"] / (fp32 * 1e9)
        budget = FULL_BUDGETS[family]
        lines.append(f"| {family} | {r['synthlib_img_s']:,.1f} | {r['peer_img_s']:,.1f} | "
                     f"{r['synthlib_img_s'] / r['peer_img_s']:.2f}x | {share:.1%} | "
                     f"{r['synthlib_img_s'] * budget:,.0f} in {budget} s |")
        print(f"{family:<11} synthlib {r['synthlib_img_s']:9.1f} img/s, peer {r['peer_img_s']:9.1f} "
              f"({r['synthlib_img_s'] / r['peer_img_s']:.2f}x)", flush=True)
        save()

    ablation = ablate(rows, args.ablate_below, device, spec)
    if ablation:
        lines += ["", f"## The loop's CUDA defaults, where synthlib is below {args.ablate_below:.2f}x its peer", "",
                  "synthlib's step against the peer's, re-measured with one of the loop's defaults turned off "
                  "(bf16 autocast, channels_last), to say which one costs the time:", "",
                  "| family | " + " | ".join(VARIANTS) + " |", "|---|" + "---|" * len(VARIANTS)]
        for family, ratios in ablation.items():
            lines.append(f"| {family} | " + " | ".join(ratios[v] for v in VARIANTS) + " |")
        save()

    comp: dict[str, float] = {}
    lines += ["", "## torch.compile on chapter 2's DCGAN step", ""]
    if args.skip_compile:
        lines.append("skipped (--skip-compile)")
    else:
        comp = compile_rows(device, args.tiny, 2 if args.tiny else 20)
        lines.append(f"eager {comp['eager']:,.1f} img/s, compiled {comp['compiled']:,.1f} img/s "
                     f"({comp['compiled'] / comp['eager']:.2f}x; compilation {comp['compiled_warmup_s']:.0f} s)")
    print(lines[-1], flush=True)
    save()

    sg = stylegan_burst(burst, args.tiny)
    lines += ["", "## StyleGAN2 with its own discriminator (the stylegan-fashion recipe), a burst", "",
              f"{sg['steps']:,} steps ({sg['images']:,} images) in {sg['seconds']:.0f} s on {sg['device']}: "
              f"FID {sg['fid']:.1f}, precision {sg['precision']:.2f}, recall {sg['recall']:.3f} "
              f"({sg['num_samples']} samples; chapter 5's CPU default profile: this pair FID 42, recall 0.0004 after "
              "150 s)"]
    print(lines[-1], flush=True)
    lines += ["", f"Total: {time.perf_counter() - started:.0f} s."]
    save()
    print(f"wrote {out}")
    return {"families": rows, "failed": failed, "ablation": ablation, "compile": comp, "stylegan": sg,
            "fp32_gflops": fp32, "bf16_gflops": bf16, "out": out}


if __name__ == "__main__":
    main()
