"""A length-aware test criterion that records what it receives.

Importing this module registers ``length_probe`` as an ESPnet enh criterion
(tests only; the package's own names are registered by espnet2_ext.plugin).
Each call appends one JSON line to ``$LENGTH_PROBE_LOG``; with
``$LENGTH_PROBE_NAN_LENGTH`` set, the loss of the utterance of that length is NaN; ``$LENGTH_PROBE_SLEEP``
seconds are slept per call (to catch a training mid-epoch).
"""

import json
import os
import time

import torch
from espnet2.enh.loss.criterions.time_domain import TimeDomainLoss
from espnet2.tasks.enh import criterion_choices

from espnet2_ext.enh.lengths import current_lengths, lengths_from_padding, resolve_lengths


class LengthProbeLoss(TimeDomainLoss):
    def __init__(self, name="length_probe"):
        super().__init__(name)

    def forward(self, ref, inf):
        time.sleep(float(os.environ.get("LENGTH_PROBE_SLEEP", "0")))
        ctx = current_lengths()
        lengths = resolve_lengths(ref)
        with open(os.environ["LENGTH_PROBE_LOG"], "a") as f:
            f.write(
                json.dumps(
                    {
                        "training": self.training,
                        "T": ref.shape[1],
                        "ctx": None if ctx is None else ctx.tolist(),
                        "resolved": lengths.tolist(),
                        # the true length of each row: the helpers' corpora
                        # have no trailing digital silence
                        "own": lengths_from_padding(ref).tolist(),
                    }
                )
                + "\n"
            )
        mask = torch.arange(ref.shape[1])[None, :] < lengths[:, None]
        loss = (((ref - inf) * mask) ** 2).sum(1) / lengths
        nan_len = os.environ.get("LENGTH_PROBE_NAN_LENGTH")
        if nan_len is not None:
            # poison the loss of the utterance with this length
            scale = torch.ones_like(loss)
            scale[lengths == int(nan_len)] = float("nan")
            loss = loss * scale
        return loss


criterion_choices.classes["length_probe"] = LengthProbeLoss
