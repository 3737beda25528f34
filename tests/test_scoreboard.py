"""The scoreboard (synthlib/scoreboard.py) on tiny real checkpoints trained for a few steps in a temporary runs root."""

from __future__ import annotations

import json
import math

import pytest
import torch

from synthlib import scoreboard as sb
from synthlib.data import from_uint8, load_fashion_mnist_uint8, project_root
from synthlib.gan import GANConfig, gan_trainer
from synthlib.gan.dcgan import DCGANDiscriminator, DCGANGenerator
from synthlib.sample import load_generator

NUM = 200  # samples per generator: seconds, not minutes (FID at this N is biased upwards; fine for comparisons)
DEMO = ["DCGAN (improved)", "VAE", "diffusion (DDIM, 20 steps)", "flow matching (Euler, 20 steps)"]


@pytest.fixture(scope="module")
def data():
    train_u8, train_labels = load_fashion_mnist_uint8("train")
    test_u8, _ = load_fashion_mnist_uint8("test")
    return {"train_u8": train_u8[:1024], "train_labels": train_labels[:1024],
            "real": from_uint8(test_u8[:NUM]), "held_out": from_uint8(test_u8[NUM : 2 * NUM])}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data, one_thread):
    """A runs root with the demo stand-ins, edited metrics.json, and an untrained DCGAN beside them."""
    root = tmp_path_factory.mktemp("runs")
    made = sb.make_demo_runs(root, steps=5, images=data["train_u8"], labels=data["train_labels"])
    # Training times as a chapter would record them: one set by hand, one left out.
    path = root / "07_likelihood" / "metrics.json"
    doc = json.loads(path.read_text())
    doc["metrics"]["vae"]["train_seconds"] = 123.5
    del doc["metrics"]["flow"]["train_seconds"]
    path.write_text(json.dumps(doc))
    # An untrained generator (a checkpoint saved before any step): the control that any real images must beat.
    torch.manual_seed(0)
    G = DCGANGenerator(DCGANGenerator.Config(z_dim=16, img_size=28, base_channels=8))
    D = DCGANDiscriminator(DCGANDiscriminator.Config(img_size=28, base_channels=8))
    untrained_dir = root / "untrained"
    gan_trainer(G, D, iter(()), GANConfig(z_dim=16), kind="dcgan", run_dir=untrained_dir, device="cpu",
                progress=False).save()
    untrained = sb.Found(sb.Entry("untrained DCGAN", "untrained", "checkpoint.pt", seconds_key=None),
                         untrained_dir / "checkpoint.pt", untrained_dir)
    return {"root": root, "made": made, "untrained": untrained}


@pytest.fixture(scope="module")
def table(runs, data):
    found, _ = sb.find_generators(runs["root"])
    return sb.score([*found, runs["untrained"]], data["real"], num_samples=NUM, seed=0, device="cpu",
                    controls={"real held-out images": data["held_out"]}, log=None).set_index("generator")


def test_the_table_of_generators_is_consistent():
    names = [e.name for e in sb.GENERATORS]
    assert len(set(names)) == len(names)
    assert {(e.chapter, e.checkpoint) for e in sb.GENERATORS} >= {
        ("02_dcgan", "checkpoint.pt"), ("02_dcgan", "baseline/checkpoint.pt"), ("05_stylegan", "checkpoint.pt"),
        ("05_stylegan", "dcgan/checkpoint.pt"), ("07_likelihood", "vae/checkpoint.pt"),
        ("07_likelihood", "diffusion/checkpoint.pt"), ("07_likelihood", "flow/checkpoint.pt")}
    stylegan = next(e for e in sb.GENERATORS if e.chapter == "05_stylegan" and e.checkpoint == "checkpoint.pt")
    assert stylegan.postprocess(torch.zeros(3, 1, 32, 32)).shape == (3, 1, 28, 28)
    assert all(e.seconds_key for e in sb.GENERATORS)


def test_find_generators_splits_found_from_missing(runs):
    root = runs["root"]
    found, missing = sb.find_generators(root)
    assert [f.entry.name for f in found] == DEMO == runs["made"]
    assert all(f.path.is_file() and f.path.parent.is_relative_to(f.run_dir) for f in found)
    assert len(found) + len(missing) == len(sb.GENERATORS)
    assert f"{root}/05_stylegan/checkpoint.pt is missing: run notebooks/05_stylegan.ipynb (make course)" in missing
    assert f"{root}/02_dcgan/baseline/checkpoint.pt is missing: run notebooks/02_dcgan.ipynb (make course)" in missing
    assert any("conditional/checkpoint.pt is missing" in m and "-p conditional True" in m for m in missing)


def test_a_run_on_other_images_is_not_scored_as_fashion_mnist(tmp_path):
    # chapter 5 run with -p dataset emoji leaves a colour checkpoint where the Fashion-MNIST one would be
    run_dir = tmp_path / "05_stylegan"
    run_dir.mkdir()
    (run_dir / "checkpoint.pt").write_bytes(b"not read")
    (run_dir / "metrics.json").write_text(json.dumps({"params": {"dataset": "emoji"}, "metrics": {}}))
    found, missing = sb.find_generators(tmp_path)
    assert all(f.entry.chapter != "05_stylegan" or f.entry.checkpoint != "checkpoint.pt" for f in found)
    assert (f"{tmp_path}/05_stylegan/checkpoint.pt was trained on 'emoji', not Fashion-MNIST: run "
            "notebooks/05_stylegan.ipynb (make course) with dataset='fashion' (the default)") in missing
    (run_dir / "metrics.json").write_text(json.dumps({"params": {"dataset": "fashion"}, "metrics": {}}))
    found, _ = sb.find_generators(tmp_path)
    assert [(f.entry.chapter, f.entry.checkpoint) for f in found] == [("05_stylegan", "checkpoint.pt")]


def test_missing_paths_are_shown_from_the_project_root(tmp_path):
    found, missing = sb.find_generators(tmp_path / "nothing-here")
    assert found == [] and len(missing) == len(sb.GENERATORS)
    name = "no-such-runs-dir-for-the-scoreboard-test"  # never created: find_generators only looks
    _, missing = sb.find_generators(project_root() / name)
    assert (f"{name}/07_likelihood/diffusion/checkpoint.pt is missing: run notebooks/07_likelihood.ipynb "
            "(make course)") in missing


@pytest.mark.slow
def test_one_row_per_generator_with_finite_scores(table):
    assert list(table.index) == [*DEMO, "untrained DCGAN", "real held-out images"]
    assert table["fid"].map(math.isfinite).all() and table["kid_x1000"].map(math.isfinite).all()
    assert table[["precision", "recall"]].stack().between(0, 1).all()
    models = table[table["chapter"] != "control"]
    assert (models["sample_s_per_1000"] > 0).all()
    assert (models["num_samples"] == NUM).all() and (models["device"] == "cpu").all()
    assert models.loc["diffusion (DDIM, 20 steps)", "evaluations"] == 20
    assert models.loc["DCGAN (improved)", "evaluations"] == 1
    assert math.isnan(table.loc["real held-out images", "sample_s_per_1000"])


def test_parameter_counts_are_those_of_the_sampled_network(table, runs):
    found, _ = sb.find_generators(runs["root"])
    for f in [*found, runs["untrained"]]:
        G, which = load_generator(f.path)
        counted = G.decoder if f.entry.name == "VAE" else G      # a VAE samples with its decoder alone
        assert table.loc[f.entry.name, "params"] == sum(p.numel() for p in counted.parameters())
        assert table.loc[f.entry.name, "model"] == which
    # G_ema where the checkpoint has one (every demo generator keeps an EMA), else G (the untrained DCGAN has none)
    assert table.loc["DCGAN (improved)", "model"] == table.loc["VAE", "model"] == "G_ema"
    assert table.loc["untrained DCGAN", "model"] == "G"
    assert table.loc["VAE", "params"] != table.loc["flow matching (Euler, 20 steps)", "params"]


def test_training_seconds_come_from_metrics_json(table, runs):
    doc = json.loads((runs["root"] / "07_likelihood" / "metrics.json").read_text())["metrics"]
    assert table.loc["VAE", "train_seconds"] == 123.5
    assert table.loc["diffusion (DDIM, 20 steps)", "train_seconds"] == doc["diffusion"]["train_seconds"] > 0
    dcgan = json.loads((runs["root"] / "02_dcgan" / "metrics.json").read_text())["metrics"]
    assert table.loc["DCGAN (improved)", "train_seconds"] == dcgan["improved"]["train_seconds"]
    flow = table.loc["flow matching (Euler, 20 steps)"]
    assert math.isnan(flow["train_seconds"]) and "no flow.train_seconds in" in flow["note"]
    assert math.isnan(table.loc["untrained DCGAN", "train_seconds"])
    assert table.loc["VAE", "trained_profile"] == "smoke"


def test_real_images_beat_an_untrained_generator(table):
    # the measurement can fail: an untrained G draws blobs, held-out real images are as real as the reference
    real, untrained = table.loc["real held-out images", "fid"], table.loc["untrained DCGAN", "fid"]
    assert real < untrained / 5, (real, untrained)
    assert table.loc["real held-out images", "recall"] > table.loc["untrained DCGAN", "recall"]


def test_denoiser_steps_and_a_wrong_size_are_handled(runs, data):
    found, _ = sb.find_generators(runs["root"])
    flow = next(f for f in found if f.entry.checkpoint == "flow/checkpoint.pt")
    out = sb.score([flow], data["real"][:50], num_samples=50, device="cpu", denoiser_steps=2, log=None)
    assert out.loc[0, "evaluations"] == 2 and out.loc[0, "fid"] > 0
    padded = sb.Found(sb.Entry("padded", "07_likelihood", "flow/checkpoint.pt", None,
                               postprocess=lambda x: torch.nn.functional.pad(x, (2, 2, 2, 2))), flow.path, flow.run_dir)
    with pytest.raises(ValueError, match="same size"):
        sb.score([padded], data["real"][:50], num_samples=50, device="cpu", denoiser_steps=2, log=None)


def test_read_metric_says_what_is_missing(tmp_path):
    assert math.isnan(sb.read_metric(tmp_path, "a.b")[0]) and "no " in sb.read_metric(tmp_path, "a.b")[1]
    (tmp_path / "metrics.json").write_text(json.dumps({"metrics": {"a": {"b": 4.5, "c": "soon"}}}))
    assert sb.read_metric(tmp_path, "a.b") == (4.5, None)
    value, note = sb.read_metric(tmp_path, "a.c")
    assert math.isnan(value) and "not a number" in note
    value, note = sb.read_metric(tmp_path, "a.d")
    assert math.isnan(value) and "no a.d in" in note


def test_plot_costs_draws_one_labelled_point_per_generator(table):
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig = sb.plot_costs(table.reset_index())
    train_ax, sample_ax = fig.axes[:2]
    def labels(ax):
        return {t.get_text() for t in ax.texts}

    assert set(DEMO) - {"flow matching (Euler, 20 steps)"} <= labels(train_ax)  # flow has no recorded time
    assert set(DEMO) | {"untrained DCGAN"} <= labels(sample_ax)
    assert train_ax.get_xscale() == sample_ax.get_xscale() == "log"
    plt.close(fig)
    one = sb.plot_costs(table.reset_index(), columns=("sample_s_per_1000",))
    assert len(one.axes) == 1 and "untrained DCGAN" in labels(one.axes[0])
    plt.close(one)


def test_course_weights_are_found_anywhere_and_scored_with_the_manifest_time(tmp_path, data, monkeypatch):
    """The shipped course weights need no run directory: found under an empty runs root, scored like the chapters'
    models, their training time read from the manifest; a name not built yet is reported with its command."""
    from synthlib import course_weights as cw

    monkeypatch.delenv(cw.WEIGHTS_ENV, raising=False)
    built = {i["name"] for i in cw.list_weights() if i["available"]}
    found, missing = sb.find_generators(tmp_path, sb.COURSE_GENERATORS)
    assert {f.entry.course for f in found} == built & {e.course for e in sb.COURSE_GENERATORS}
    for e in sb.COURSE_GENERATORS:
        if e.course not in built:
            assert f"course:{e.course} is not built: make weights NAME={e.course}" in missing
    if not found:
        pytest.skip("no course weights built")
    quick = [f for f in found if not f.entry.sample_kwargs][:2] or found[:1]  # one-pass ones: seconds
    out = sb.score(quick, data["real"][:40], num_samples=40, device="cpu", denoiser_steps=2, log=None)
    for (_, row), f in zip(out.iterrows(), quick):
        manifest = {i["name"]: i for i in cw.list_weights()}[f.entry.course]
        assert row["trained_profile"] == "course weights" and row["checkpoint"] == f"course:{f.entry.course}"
        assert row["train_seconds"] == pytest.approx(manifest["train_seconds"]) and math.isfinite(row["fid"])
