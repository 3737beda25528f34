"""Data-parallel training in the shared Trainer (synthlib.core.distributed), on the CPU with gloo.

The worker (tests/core/distributed_worker.py) trains a small network for 3 steps, checkpoints, rebuilds
everything, resumes and trains to step 6. Run once alone with the global batch of 8 and once under
torchrun with two processes taking 4 each, it must end with the same weights (to float tolerance).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from synthlib.core import distributed
from synthlib.core.train import Phase, Trainer

WORKER = Path(__file__).with_name("distributed_worker.py")


def _run(cmd: list[str], out: Path) -> None:
    env = {**os.environ, "SYNTHLIB_RUN_DIR": str(out), "OMP_NUM_THREADS": "1"}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.mark.slow
def test_two_processes_with_half_batches_match_one_process_with_the_whole(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    _run([sys.executable, str(WORKER), str(one)], one)
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
          str(WORKER), str(two)], two)
    alone = torch.load(one / "weights_rank0.pt")
    rank0, rank1 = torch.load(two / "weights_rank0.pt"), torch.load(two / "weights_rank1.pt")
    start = torch.load(one / "initial_rank0.pt")
    start0, start1 = torch.load(two / "initial_rank0.pt"), torch.load(two / "initial_rank1.pt")
    for name, value in alone.items():
        assert not torch.allclose(value, start[name])  # it trained
        torch.testing.assert_close(start1[name], start0[name], rtol=0, atol=0)  # rank 1 began from rank 0's weights
        torch.testing.assert_close(rank0[name], value, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(rank1[name], rank0[name], rtol=0, atol=0)  # the ranks never drift apart
    metrics = json.loads((two / "metrics.json").read_text())["metrics"]
    assert metrics["rank"] == 0 and metrics["world_size"] == 2  # written by rank 0 only
    assert metrics["num_img"] == 6 * 8  # images counted over both ranks: 6 steps of the global batch
    solo = json.loads((one / "metrics.json").read_text())["metrics"]
    assert metrics["loss"] == pytest.approx(solo["loss"], rel=1e-4)  # the logged loss is averaged over ranks
    ckpt = torch.load(two / "checkpoint.pt", weights_only=False)
    assert ckpt["step"] == 6 and ckpt["num_img"] == 48
    timed = [int((two / f"timed_steps_rank{r}.txt").read_text()) for r in (0, 1)]
    assert timed[0] == timed[1] > 0  # max_seconds: the ranks stop together although their clocks differ


def test_shard_splits_the_global_batch_and_explains_an_uneven_one():
    x, y = torch.arange(8.0).reshape(8, 1), torch.arange(8)
    parts = [distributed.shard((x, {"y": y}), r, 4) for r in range(4)]
    torch.testing.assert_close(torch.cat([p[0] for p in parts]), x)
    assert parts[2][1]["y"].tolist() == [4, 5]
    assert distributed.shard(x, 0, 1) is x
    with pytest.raises(ValueError, match="multiple of 3"):
        distributed.shard(x, 0, 3)


def test_single_process_answers_as_rank_zero_and_refuses_distributed_without_a_group():
    assert not distributed.is_running() and distributed.is_main()
    assert distributed.info() == distributed.DistInfo(0, 1, 0)
    net = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(RuntimeError, match="torchrun"):
        Trainer(models={"net": net}, phases=[Phase("fit", lambda b, s: net(b).mean(), opt)], data=iter([]),
                device="cpu", distributed=True)


NOTEBOOK_CELLS = [
    ("code", 'profile = "smoke"', ["parameters"]),
    ("code", """import torch
import synthlib
from synthlib.core import distributed
from synthlib.data import TensorBatches
from synthlib.nn.patchgan import PatchGANDiscriminator
from synthlib.core.train import Phase, Trainer
run = synthlib.start_run("ddp-notebook", profile=profile)
torch.manual_seed(0)
net = PatchGANDiscriminator(PatchGANDiscriminator.Config(img_channels=2, base_channels=4, num_layers=1, norm="none"))
opt = torch.optim.Adam(net.parameters(), lr=1e-2)
x = torch.randn(16, 2, 16, 16, generator=torch.Generator().manual_seed(0))
loss = lambda batch, scratch: net(batch).square().mean()
t = Trainer(models={"net": net}, phases=[Phase("fit", loss, opt)], data=TensorBatches(x, batch_size=8), device="cpu",
            progress=False)
t.fit(10**6, max_seconds=1.0)
info = distributed.info()
run.record(rank=info.rank, world_size=info.world_size, steps=t.step, num_img=t.num_img)""", []),
]


@pytest.mark.slow
def test_launch_runs_a_notebook_on_two_processes_that_train_together(tmp_path):
    """`torchrun -m synthlib.core.launch NB OUT`: each process runs the notebook, start_run joins them, the Trainer
    in it trains data-parallel, rank 0 writes OUT and metrics.json, rank 1 writes OUT.rank1."""
    cells = [{"cell_type": kind, "metadata": {"tags": tags}, "source": src, "outputs": [], "execution_count": None}
             for kind, src, tags in NOTEBOOK_CELLS]
    nb = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}
    (tmp_path / "nb.ipynb").write_text(json.dumps(nb))
    out = tmp_path / "run"
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "synthlib.core.launch",
          str(tmp_path / "nb.ipynb"), str(out / "nb.ipynb"), "-p", "profile", "smoke"], out)
    assert (out / "nb.ipynb").is_file() and (out / "nb.rank1.ipynb").is_file()
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert metrics["rank"] == 0 and metrics["world_size"] == 2 and metrics["steps"] > 0
    assert metrics["num_img"] == 8 * metrics["steps"]  # the global batch of 8, shared by the two processes


def test_launch_names_outputs_per_rank_and_reads_parameters_like_papermill(tmp_path, capsys):
    from synthlib.core.launch import _output_for_rank, _value, main

    assert _output_for_rank(Path("runs/x/nb.ipynb"), 0) == Path("runs/x/nb.ipynb")
    assert _output_for_rank(Path("runs/x/nb.ipynb"), 3) == Path("runs/x/nb.rank3.ipynb")
    assert [_value(v) for v in ("3", "0.5", "full", "None", "True")] == [3, 0.5, "full", None, True]
    assert main([str(tmp_path / "missing.ipynb"), str(tmp_path / "out.ipynb")]) == 2
    assert "no notebook" in capsys.readouterr().err
