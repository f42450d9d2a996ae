"""ionnp.runtime: the training device of train.device (this machine's torch is the CPU build)."""

from __future__ import annotations

import pytest
import torch

from ionnp.runtime import training_device


def test_auto_and_cpu_train_on_the_cpu_without_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: auto picks it")
    assert training_device("auto") == torch.device("cpu")
    assert training_device("cpu") == torch.device("cpu")


def test_cuda_without_a_gpu_and_unknown_names_are_refused_naming_the_key():
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    with pytest.raises(ValueError, match="train.device is cuda, but torch .* sees no GPU"):
        training_device("cuda")
    with pytest.raises(ValueError, match="train.device must be auto, cpu or cuda, not 'gpu'"):
        training_device("gpu")
