import pytest
import torch

import sesmlib


def test_auto_picks_an_available_device():
    dev = sesmlib.device("auto")
    expected = "cuda" if torch.cuda.is_available() else dev.type
    assert dev.type == expected
    torch.zeros(1, device=dev)  # usable


def test_cpu_and_torch_device_accepted():
    assert sesmlib.device("cpu") == torch.device("cpu")
    assert sesmlib.device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no CUDA device"):
        sesmlib.device("cuda")


@pytest.mark.parametrize("bad", ["tpu", "", "gpu"])
def test_unknown_device_names_the_choices(bad):
    with pytest.raises(ValueError, match="auto, cpu, cuda, mps"):
        sesmlib.device(bad)


def test_wrong_type():
    with pytest.raises(TypeError, match="device"):
        sesmlib.device(3)
