"""Shared by chapter 6's pool experiments (inpaint_pool.py, inpaint_mixer.py, beside this file; not a script):
training crops with their holes, drawn as the chapter draws them (64 px crops at the held-out photos' scale, holes
drawn for a 192 px picture), the square's symmetries, and the time-bounded training loop with its scored
checkpoints."""
import time

import torch

from synthlib import restoration as R
from synthlib.data.crops import RandomCrops


def crop_pool(pool_n, crop=64, size=192):
    """(images, holes, masked images): pool_n crops, their float holes (1 = missing) and the images with 0 there."""
    at_scale = (0.8 * crop / size, 1.25 * crop / size)
    src = R.MaskedBatches(RandomCrops("train", crop=crop, n=10**6, seed=0, scale=at_scale).batches(64), seed=0, reference=size)
    imgs, hls = [], []
    while sum(len(i) for i in imgs) < pool_n:
        i, h = next(src)
        imgs.append(i)
        hls.append(h)
    imgs, hls = torch.cat(imgs)[:pool_n], torch.cat(hls)[:pool_n]
    return imgs, hls, torch.where(hls > 0.5, torch.zeros(()), imgs)


def dihedral(parts, k):
    """The same one of the square's 8 symmetries (k in 0..7: transpose, then flips) applied to every tensor in parts."""
    if k & 1:
        parts = [p.transpose(-1, -2) for p in parts]
    dims = [d for d, bit in ((-1, 2), (-2, 4)) if k & bit]
    return [p.flip(dims) for p in parts] if dims else list(parts)


def train_timed(secs, model, batch_loss, score, lr, checkpoints=6, on_report=None):
    """Adam (lr, betas 0.9 / 0.999) on ``model``, one ``batch_loss()`` per step, for ``secs`` of training time;
    prints ``score()`` (a string, whose time is not counted) at the start, at every 1/checkpoints of the budget
    and at the end, as "step N Ts scores"; then calls ``on_report(step, seconds)`` when given (to record them)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
    spent, step, next_eval = 0.0, 0, secs / checkpoints

    def report():
        print(f"step {step} {spent:.0f}s", score(), flush=True)
        if on_report is not None:
            on_report(step, spent)

    report()
    while spent < secs:
        start = time.time()
        loss = batch_loss()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        spent += time.time() - start
        step += 1
        if spent >= next_eval:
            report()
            next_eval += secs / checkpoints
    report()
