"""Experiment for chapter 7: is the VAE's FID its blur or its 45-second budget?

Trains chapter 7's default VAE (ConvVAE, z_dim 16, VAEConfig defaults, batch 128) and scores its EMA weights the
chapter's way (1,000 samples against 1,000 test images, the offline Fashion-MNIST classifier's features: FID,
precision, recall) after 45, 90 and 180 seconds of training.

    OMP_NUM_THREADS=2 .venv/bin/python experiments/07_likelihood/vae_budget.py

It has no knobs. The scores go to runs/experiments/vae_budget/metrics.json (`--run-dir` for another folder;
`synthlib.collect` gathers it) as `at_45s`, `at_90s`, `at_180s` (seconds, step, fid, precision, recall).
Run it alone (2 cores).

Measured 2026-11-25 (session 9; commit 248843a, the second run 8b52a67; then `benchmarks/trials/vae_budget.py`):
45 s (541 steps) FID 28.4, precision 0.43, recall 0.36; 90 s (1,085 steps) 24.9, 0.48, 0.47; 180 s (2,136 steps)
22.5, 0.53, 0.57 (a second run: FID 28.2, 24.8, 22.4). The VAE keeps improving with time, but with four times its
budget it is still behind diffusion's 17.5 (240 s) and flow matching's 13.7 (120 s) in the chapter's run: the blur
of a decoder mean, not the budget, is what keeps it last.
"""
from __future__ import annotations

import argparse
import time

import torch

from synthlib import likelihood as dm
from synthlib.core.runs import experiment_parser, start_experiment
from synthlib.data import TensorBatches, from_uint8, load_fashion_mnist_uint8
from synthlib.likelihood.networks import ConvVAE
from synthlib.metrics.fid import FIDEvaluator, classifier_features
from synthlib.metrics.prdc import precision_recall
from synthlib.sample import sample

NAME = "vae_budget"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = experiment_parser(__file__, __doc__)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = start_experiment(NAME, args)
    train_u8, _ = load_fashion_mnist_uint8("train")
    test_u8, _ = load_fashion_mnist_uint8("test")
    real = from_uint8(test_u8[:1000])
    evaluate, real_features = FIDEvaluator(real, kid_subsets=50), classifier_features(real)
    torch.manual_seed(0)
    vae = ConvVAE(ConvVAE.Config(z_dim=16))
    cfg = dm.VAEConfig(batch_size=128, beta=1.0)
    trainer = dm.vae_trainer(vae, TensorBatches(train_u8, batch_size=128, seed=0, transform=from_uint8), cfg,
                             device="cpu", progress=False)
    spent = 0.0
    for target in (45, 90, 180):
        start_time = time.perf_counter()
        trainer.fit(max_seconds=target - spent)
        spent += time.perf_counter() - start_time
        drawn = sample(trainer.ema.model, 1000, seed=1)
        pr = precision_recall(real_features, classifier_features(drawn))
        fid = evaluate(drawn)['fid']
        print(f"{spent:.0f} s, step {trainer.step}: FID {fid:.1f} precision {pr['precision']:.2f} "
              f"recall {pr['recall']:.2f}", flush=True)
        run.record(**{f"at_{target}s": {"seconds": spent, "step": trainer.step, "fid": fid,
                                        "precision": pr["precision"], "recall": pr["recall"]}})


if __name__ == "__main__":
    main()
