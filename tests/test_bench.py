"""`make bench` runs: the benchmark's --quick mode prints both speeds and their ratio (no speed assertions)."""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "dcgan_speed.py"


def load_script(name: str):
    """benchmarks/<name>.py imported as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, BENCH.parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def load_bench():
    return load_script("dcgan_speed")


@pytest.mark.slow
def test_quick_benchmark_prints_both_speeds_and_the_ratio_last(capsys):
    bench = load_bench()
    threads = torch.get_num_threads()
    start = time.perf_counter()
    try:
        results = bench.main(["--quick", "--threads", "1", "--device", "cpu"])
    finally:
        torch.set_num_threads(threads)  # the benchmark sets it process-wide
    assert time.perf_counter() - start < 60
    out = capsys.readouterr().out
    assert "torch " + torch.__version__ in out and "threads 1" in out and "device cpu" in out

    medians = dict(re.findall(r"^median images/s (\w+) +([\d.]+)", out, flags=re.M))
    assert set(medians) == {"reference", "synthlib"}
    assert all(float(v) > 0 for v in medians.values())
    last = out.strip().splitlines()[-1]
    ratio = re.fullmatch(r"ratio synthlib / reference: ([\d.]+)x", last)
    assert ratio is not None, last
    assert float(ratio.group(1)) > 0
    assert results["ratio"] == results["synthlib"] / results["reference"] > 0

    # Work per step, counted: synthlib skips D's weight gradients in the G step (one of ~12 network
    # passes), so it does ~8% fewer FLOPs than the reference -- never more.
    work = dict(re.findall(r"(\w+) ([\d.]+) GFLOP\b", out.split("work per step", 1)[1].splitlines()[0]))
    assert set(work) == {"reference", "synthlib"}, work
    assert 0.85 < float(work["synthlib"]) / float(work["reference"]) < 0.95, work
    assert results["matmul_gflops"] > 0 and results["ceiling"] > 0
    assert re.search(r"^achieved synthlib +\d+ GFLOP/s", out, flags=re.M)


def test_photo_crops_are_uint8_rgb_64x64():
    bench = load_bench()
    images, about = bench.photo_crops(8, seed=3)
    assert images.shape == (8, 3, 64, 64) and images.dtype == torch.uint8
    assert "crops" in about or "noise" in about
    assert torch.equal(images, bench.photo_crops(8, seed=3)[0])  # reproducible


def test_reference_and_synthlib_train_the_same_architecture():
    bench = load_bench()
    G, D = bench.build_models(seed=0)
    assert sum(p.numel() for p in G.parameters()) == 3_576_704  # pytorch/examples' netG
    assert sum(p.numel() for p in D.parameters()) == 2_765_568  # and netD


# ----------------------------------------------------------------------------------------------
# benchmarks/family_speed.py: every family's step against its peer and its ceiling

def load_family_bench():
    return load_script("family_speed")


@pytest.mark.slow
def test_quick_family_benchmark_prints_every_row_and_writes_the_json(capsys, tmp_path):
    import json
    import math

    bench = load_family_bench()
    out = tmp_path / "bench.json"
    threads = torch.get_num_threads()
    try:
        rows = bench.main(["--quick", "--threads", "1", "--device", "cpu", "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    printed = capsys.readouterr().out
    families = ("dcgan", "pix2pix", "cyclegan", "fast_style", "adain", "stylegan", "inpaint", "sr", "diffusion")
    assert bench.FAMILIES == families
    table = printed.split("images/s (median)", 1)[1]
    for name in families:  # one row of the table per family: synthlib, peer, ratio, ceiling
        assert re.search(rf"^{name} +[\d.]+ +[\d.]+ +[\d.]+x +[\d.]+ ", table, flags=re.M), name

    saved = json.loads(out.read_text())
    assert set(families) <= set(saved) and set(rows) == set(families)
    for name in families:
        row = saved[name]
        for key in ("synthlib_img_s", "peer_img_s", "ceiling_img_s", "flops_per_img"):
            assert math.isfinite(row[key]) and row[key] > 0, (name, key, row[key])
        assert isinstance(row["limit"], str)
        if row["synthlib_img_s"] < row["ceiling_img_s"] / 2:  # below half its ceiling: a measured reason
            assert "of ceiling" in row["limit"] and "conv/matmul" in row["limit"], (name, row["limit"])
    assert saved["_run"]["matmul_gflops"] > 0 and saved["_run"]["quick"] is True


def test_step_flops_counts_a_step_with_a_gradient_penalty():
    """R1's autograd.grad on a leaf input makes FlopCounterMode's module hooks raise (torch >= 2.11); the fallback
    counts the same formulas: here 2 x 8 x 16 x 4 per matmul, forward, the penalty's grad and both backward passes."""
    dc = load_script("dcgan_speed")
    torch.manual_seed(0)
    lin = torch.nn.Linear(16, 4)

    def step(_):
        x = torch.randn(8, 16, requires_grad=True)
        (g,) = torch.autograd.grad(lin(x).square().sum(), x, create_graph=True)
        g.square().sum().backward()

    def plain(_):
        lin(torch.randn(8, 16)).sum().backward()

    matmul = 2 * 8 * 16 * 4
    assert dc.step_flops(plain) == 2 * matmul            # forward, and the weight's gradient (the input needs none)
    assert dc.step_flops(step) == 6 * matmul              # forward, grad wrt x, then backward through both


def test_family_benchmark_selects_families_and_refuses_unknown_ones():
    bench = load_family_bench()
    assert bench.parse_args(["--families", "sr,pix2pix", "--quick"]).families == ["sr", "pix2pix"]
    with pytest.raises(SystemExit):
        bench.parse_args(["--families", "pix2pics"])
    assert set(bench.BUILDERS) == set(bench.FAMILIES)


def test_diffusers_peer_has_about_the_parameters_of_chapter_7s_unet():
    from synthlib.likelihood.networks import DiffusionUNet

    bench = load_family_bench()
    ours = DiffusionUNet(DiffusionUNet.Config(num_classes=10, channels=(32, 64), patch=2))
    theirs = bench.diffusers_unet((32, 64), 10)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert 0.9 < count(theirs) / count(ours) < 1.2


@pytest.mark.slow
def test_live_view_cost_prints_both_speeds_the_ratio_and_the_share(capsys):
    module = load_script("live_view_cost")
    # no share limit: with the chapters' 3 %, a loaded machine's slow first frame leaves no room for a second
    out = module.main(["--seconds", "4", "--rounds", "1", "--every", "0.3", "--max-share", "1.0"])
    printed = capsys.readouterr().out
    assert out["plain_img_s"] > 0 and out["live_img_s"] > 0 and out["frames"] >= 2  # it did redraw
    assert 0 < out["draw_share"] < 1 and out["ratio"] == out["live_img_s"] / out["plain_img_s"]
    assert re.search(r"^median images/s: no view [\d,]+, live view [\d,]+; ratio [\d.]+", printed, flags=re.M)


@pytest.mark.slow
def test_gpu_check_runs_tiny_on_the_cpu_and_writes_its_report(tmp_path, capsys):
    """`make gpu-check` is for a lent GPU; here its code runs end to end on the CPU with tiny sizes."""
    module = load_script("gpu_check")
    threads = torch.get_num_threads()
    try:
        out = module.main(["--tiny", "--device", "cpu", "--families", "sr", "--skip-compile", "--ablate-below", "1e9",
                           "--out", str(tmp_path / "gpu.md")])
    finally:
        torch.set_num_threads(threads)
    report = (tmp_path / "gpu.md").read_text()
    assert set(out["families"]) == {"sr"} and out["failed"] == {} and out["fp32_gflops"] > 0
    # one family (every family's tiny step is the quick family benchmark's test): its row, then its ablation row
    assert re.search(r"^\| sr \| [\d,.]+ \| [\d,.]+ \| [\d.]+x \| [\d.]+% \| [\d,]+ in \d+ s \|$", report, flags=re.M), report
    assert set(out["ablation"]) == {"sr"}  # every family is "below" 1e9x its peer: each re-measured
    assert re.search(r"^\| sr \| [\d.]+x \([\d,]+ img/s\) \| [\d.]+x \([\d,]+ img/s\) \| [\d.]+x", report, flags=re.M), report
    assert out["compile"] == {} and "torch.compile on chapter 2's DCGAN step\n\nskipped" in report  # compiling: 1 min
    assert out["stylegan"]["steps"] > 0 and 0 < out["stylegan"]["fid"] < float("inf") and "FID" in report


@pytest.mark.slow
def test_sampler_benchmark_quick_mode_scores_every_sampler(tmp_path, capsys):
    samplers = load_script("samplers")
    threads = torch.get_num_threads()
    try:
        result = samplers.main(["--quick", "--threads", "1", "--device", "cpu", "--out", str(tmp_path / "s.json")])
    finally:
        torch.set_num_threads(threads)
    names = {r["sampler"] for r in result["rows"]}
    assert names == {"diffusion, DDIM", "diffusion, DDPM (strided, eta 1)", "diffusion, DPM-Solver++(2M) (diffusers)",
                     "flow, Euler", "flow, Heun"}
    assert all(r["fid"] > 0 and r["nfe"] >= 1 and r["s_per_1000"] > 0 for r in result["rows"])
    heun = sorted(r["nfe"] for r in result["rows"] if r["sampler"] == "flow, Heun")
    assert heun == [1]                       # budgets 1 and 2 both fit one Heun step: one row, one call
    assert (tmp_path / "s.json").exists() and (tmp_path / "s.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].startswith("reference: DDIM at 2 NFE")


def test_heun_budget_and_the_summary():
    samplers = load_script("samplers")
    assert [samplers.heun_steps(n) for n in (1, 2, 3, 5, 10)] == [1, 1, 2, 3, 5]
    assert [samplers.calls("flow, Heun", n) for n in (3, 10)] == [3, 9]
    rows = [{"sampler": "diffusion, DDIM", "nfe": 10, "fid": 8.0}, {"sampler": "diffusion, DDIM", "nfe": 50, "fid": 5.0},
            {"sampler": "x", "nfe": 5, "fid": 6.0}, {"sampler": "x", "nfe": 10, "fid": 4.9},
            {"sampler": "y", "nfe": 50, "fid": 5.5}]
    s = samplers.summarise(rows)
    assert s["nfe_to_match"] == {"diffusion, DDIM": 50, "x": 10, "y": None}
    assert s["line"].endswith("fewest: x (10 NFE)")


# ----------------------------------------------------------------------------------------------
# benchmarks/diffusion_peer.py: chapter 7's diffusion against the diffusers recipe at equal time (issue 24)
# ----------------------------------------------------------------------------------------------


def test_diffusion_peer_unet_has_chapter_7s_parameter_count_within_the_tolerance():
    peer = load_script("diffusion_peer")
    ours, theirs = peer.count(peer.synthlib_unet(quick=False)), peer.count(peer.peer_unet(quick=False))
    assert ours == 654_180                                    # chapter 7's default-profile U-Net
    assert abs(theirs / ours - 1) <= peer.TOLERANCE, (ours, theirs)
    assert peer.count(peer.peer_unet(quick=False, size=32)) == theirs   # the padded variant is the same network


def test_diffusion_peer_flow_side_is_the_same_unet_sampled_with_euler_at_the_same_evaluations():
    peer = load_script("diffusion_peer")
    flow, diffusion = peer.synthlib_unet(quick=True, process="flow"), peer.synthlib_unet(quick=True)
    assert flow.config.process == "flow" and diffusion.config.process == "diffusion"
    assert peer.count(flow) == peer.count(diffusion)
    calls = []
    flow.register_forward_hook(lambda *_: calls.append(1))
    noise = torch.randn(2, 1, 28, 28)
    x = peer.sample_synthlib(flow.eval(), noise, torch.tensor([0, 1]), nfe=3)
    assert len(calls) == 3 and x.shape == noise.shape and float(x.abs().max()) <= 1.0


@pytest.mark.slow
def test_diffusion_peer_quick_mode_trains_samples_and_scores_both_sides(tmp_path, capsys):
    import json
    import math

    peer = load_script("diffusion_peer")
    threads = torch.get_num_threads()
    try:
        result = peer.main(["--quick", "--threads", "1", "--device", "cpu", "--out", str(tmp_path / "p.json")])
    finally:
        torch.set_num_threads(threads)
    rows = {r["side"]: r for r in result["rows"]}
    assert set(rows) == {"synthlib", "diffusers"}
    for r in rows.values():
        assert math.isfinite(r["fid"]) and r["fid"] > 0 and r["steps"] > 0 and r["parameters"] > 0
        assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and r["sample_s_per_1000"] > 0
        assert r["train"]["train_s"] >= 3.0                   # each side trained for the whole budget
    assert rows["diffusers"]["train"]["total_estimates"]      # the cosine's total was estimated from the rate
    assert json.loads((tmp_path / "p.json").read_text())["rows"][0]["side"] == "synthlib"
    assert (tmp_path / "p.png").stat().st_size > 1000
    last = capsys.readouterr().out.strip().splitlines()[-1]
    m = re.fullmatch(r"ratio FID peer / synthlib: ([\d.]+)x", last)
    assert m and float(m.group(1)) == pytest.approx(rows["diffusers"]["fid"] / rows["synthlib"]["fid"], abs=0.006)
