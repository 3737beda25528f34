"""Fixtures that several test modules share."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """Tensors in model tests are tiny: a second thread costs more in synchronisation than it saves (on a
    busy 2-core machine several times the whole run), so use one and give the old count back."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def seeded() -> None:
    """Every test starts from torch's seed 0."""
    torch.manual_seed(0)
