"""Data-parallel training in the shared Trainer (synthlib.distributed), on the CPU with gloo.

The worker (tests/distributed_worker.py) trains a small network for 3 steps, checkpoints, rebuilds
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

from synthlib import distributed
from synthlib.train import Phase, Trainer

WORKER = Path(__file__).with_name("distributed_worker.py")


def _run(cmd: list[str], out: Path) -> None:
    env = {**os.environ, "SYNTHLIB_RUN_DIR": str(out), "OMP_NUM_THREADS": "1"}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


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
