"""Training-time waveform perturbations (pure functions, no ESPnet import)."""

from espnet2_ext.augment.perturb import check_batch, speed_perturb, zero_pad

__all__ = ["check_batch", "zero_pad", "speed_perturb"]
