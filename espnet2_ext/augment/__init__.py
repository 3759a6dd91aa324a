"""Training-time waveform perturbations (pure functions, no ESPnet import)."""

from espnet2_ext.augment.perturb import speed_perturb, zero_pad

__all__ = ["zero_pad", "speed_perturb"]
