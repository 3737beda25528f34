"""Run by tests/core/test_distributed.py, alone (``python tests/core/distributed_worker.py OUT``) or under
``torchrun --nproc_per_node=2``: a small regression network trained by synthlib's Trainer on a fixed
global batch of 8, checkpointed at step 3, rebuilt, resumed from that checkpoint and trained to step 6.
Each rank saves the weights it ends with; rank 0 also records a metric. Last, a run bounded by time
in which rank 1 is slower: each rank writes the step it stopped at."""

import sys
import time
from pathlib import Path

import torch
from torch import nn

import synthlib
from synthlib.core import distributed
from synthlib.core.train import Callback, Phase, Trainer
from synthlib.data import TensorBatches
from synthlib.nn.patchgan import PatchGANDiscriminator

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
info = distributed.setup()
torch.set_num_threads(1)


def build() -> tuple[nn.Module, Trainer]:
    torch.manual_seed(1 + info.rank)  # different on each rank: the Trainer must copy rank 0's weights
    net = PatchGANDiscriminator(PatchGANDiscriminator.Config(img_channels=2, base_channels=4, num_layers=1,
                                                             norm="none"))  # a small registered conv net
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 2, 16, 16, generator=g)
    y = torch.randn(32, *net(x[:1]).shape[1:], generator=g)

    def loss(batch, scratch):
        inputs, targets = batch
        return ((net(inputs) - targets) ** 2).mean()

    trainer = Trainer(models={"net": net}, phases=[Phase("fit", loss, opt)], data=TensorBatches(x, y, batch_size=8),
                      kind="ddp-test", device="cpu", run_dir=out, progress=False, log_every=1)
    return net, trainer


net, trainer = build()
torch.save({k: v.clone() for k, v in net.state_dict().items()}, out / f"initial_rank{info.rank}.pt")
trainer.fit(3)
trainer.save()
net, trainer = build()  # a fresh process state, as after a restart
trainer.load()
trainer.fit(6)
trainer.save()
torch.save({k: v.clone() for k, v in net.state_dict().items()}, out / f"weights_rank{info.rank}.pt")
run = synthlib.start_run("ddp-test", profile="smoke")  # the test sets SYNTHLIB_RUN_DIR=OUT
run.record(rank=info.rank, world_size=info.world_size, loss=trainer.history["fit/loss"]["value"][-1],
           num_img=trainer.num_img)
# a time-bounded run whose ranks run at different speeds must still stop on the same step (else one hangs)
net, trainer = build()
trainer.callbacks.append(Callback(every=1, fn=lambda t: time.sleep(0.01 * info.rank)))
trainer.fit(10**6, max_seconds=0.5)
(out / f"timed_steps_rank{info.rank}.txt").write_text(str(trainer.step))
distributed.teardown()
