"""Process set-up shared by every workflow script that runs torch."""

from __future__ import annotations

import torch


def configure_torch(threads: int) -> None:
    """Fix torch's intra-op thread count to ``threads`` and switch on deterministic algorithms,
    so that the same config and seed train the same weights: a reduction split over another
    number of threads sums in another order and differs in the last bits, which training and
    MD then amplify."""
    torch.set_num_threads(max(int(threads), 1))
    torch.use_deterministic_algorithms(True)
