"""Process set-up shared by every workflow script that runs torch."""

from __future__ import annotations

import os

import torch


def configure_torch(threads: int) -> None:
    """Fix torch's intra-op thread count to ``threads`` and switch on deterministic algorithms,
    so that the same config and seed train the same weights: a reduction split over another
    number of threads sums in another order and differs in the last bits, which training and
    MD then amplify."""
    torch.set_num_threads(max(int(threads), 1))
    # cuBLAS is deterministic only with a fixed workspace (set before CUDA starts; harmless on CPU)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)


def training_device(name: str) -> torch.device:
    """The device of ``train.device``: ``cpu``, ``cuda`` (this rank's GPU) or ``auto`` (CUDA
    where this torch has it and sees a GPU, else the CPU).

    Raises:
        ValueError: for ``cuda`` without a usable GPU, naming the key and the fix.
    """
    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"train.device must be auto, cpu or cuda, not {name!r}")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError(f"train.device is cuda, but torch {torch.__version__} sees no GPU (a CPU "
                         "build, or no GPU on this node): set up the CUDA build "
                         "(IONNP_TORCH=cuda bash scripts/setup.sh), ask the profile for a GPU, or "
                         "set train.device: auto")
    return torch.device("cuda", torch.cuda.current_device())
