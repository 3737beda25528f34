"""List the course weights: the models trained once with each chapter's recipe for a long budget, shipped
in synthlib/weights/course/ and usable wherever a verb takes a checkpoint, as course:NAME."""

from __future__ import annotations

import argparse

NAME = "weights"
HELP = "list the course weights (course:NAME) with their budgets and scores"


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the manifest's entries as JSON")


def _scores(metrics: dict) -> str:
    keys = [k for k in ("fid", "kid_x1000", "precision", "recall", "psnr", "ssim") if k in metrics] or list(metrics)[:4]
    keys += [k for k in metrics if "gain_over" in k and k not in keys]  # the margin over the chapter's baseline
    return ", ".join(f"{k} {metrics[k]:.3g}" if isinstance(metrics[k], float) else f"{k} {metrics[k]}" for k in keys)


def run(args: argparse.Namespace) -> int:
    import json

    from synthlib.course_weights.manifest import list_weights

    entries = list_weights()
    if args.json:
        print(json.dumps(entries, indent=1))
        return 0
    if not entries:
        print("no course weights yet: `make weights` trains them (see README, 'Course weights')")
        return 0
    for e in entries:
        state = "" if e.get("available", True) else "  [not built: make weights NAME=" + e["name"] + "]"
        steps = e.get("steps")
        budget = f"{steps:,} steps" if isinstance(steps, int) else "no recipe yet"
        if e.get("prior"):
            budget = f"no network of its own: course:{e['prior']}'s {budget}"
        secs = e.get("cpu_seconds", e.get("train_seconds"))
        hw = str(e.get("hardware", "?")).split(", torch")[0]
        took = f", {secs / 60:.0f} CPU min on {hw}" if isinstance(secs, (int, float)) else ""
        print(f"course:{e['name']:<20} {e.get('description', '')}{state}")
        scores = _scores(e.get("metrics") or {})
        print(f"  {'':<20} {budget}{took}{'; ' + scores if scores else ''}")
    return 0
