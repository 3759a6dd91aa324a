"""Custom operators (no ESPnet imports here)."""

from .soft_dtw import SoftDTW, soft_dtw, soft_dtw_from_cost

__all__ = ["SoftDTW", "soft_dtw", "soft_dtw_from_cost"]
