"""The losses the probe measures: the package's criterions, used per layer through their hooks.

A :class:`ProbeLoss` holds one criterion (``ssl_mse``, ``ssl_mse_pad`` or
``ssl_sdtw``) and reuses its two hooks, so that the probe measures exactly
what training optimises:

* ``perturb_reference(ref, lengths, up)`` -- the training-time change of the
  clean reference (random zero-padding for ``ssl_mse_pad``, random speed
  perturbation for ``ssl_sdtw``; identity in eval mode and for ``ssl_mse``),
  drawn here under a fixed seed per utterance;
* ``compare(ref_feats, ref_flens, inf_feats, inf_flens, info) -> (B,)``.

The criterion's own encoder (its ``upstream`` option) is never built: the
probe extracts every hidden state once with its own upstream and applies the
criterion's ``l2_normalize`` per layer (the criterion applies it to its
selected layer(s) in the same way).
"""

import inspect
import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

LOSS_NAMES = ("ssl_mse", "ssl_mse_pad", "ssl_sdtw")

# options the probe sets itself: the upstream is the probe's, every layer is extracted
_RESERVED = ("upstream", "upstream_conf", "layers", "name")


def loss_classes() -> Dict[str, type]:
    """Name -> criterion class (imports ESPnet, through the criterion module)."""
    from espnet2_ext.enh.loss.criterions.ssl import SSLMSELoss, SSLMSEPadLoss, SSLSoftDTWLoss

    return {"ssl_mse": SSLMSELoss, "ssl_mse_pad": SSLMSEPadLoss, "ssl_sdtw": SSLSoftDTWLoss}


def _default(cls: type, param: str) -> Any:
    """Default of constructor option ``param`` of ``cls`` (searched along the MRO); None if it has none."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        p = inspect.signature(init).parameters.get(param)
        if p is not None and p.default is not inspect.Parameter.empty:
            return p.default
    return None


def _l2_normalize(cls: type, crit: torch.nn.Module, conf: Dict[str, Any]) -> bool:
    """Whether criterion ``crit`` L2-normalises frames: the option given, else its class default."""
    if "l2_normalize" in conf:
        return bool(conf["l2_normalize"])
    default = _default(cls, "l2_normalize")
    if default is None:  # not in any signature: ask the instance's encoder options
        default = getattr(crit, "_upstream_conf", {}).get("l2_normalize")
    if default is None:
        raise ValueError(f"{cls.__name__}: cannot tell whether it L2-normalises features (no l2_normalize default)")
    return bool(default)


def seed_for(seed: int, *keys: Any) -> int:
    """A 31-bit seed from the probe seed and any keys (utterance id, loss, step): order independent of the data set."""
    text = ":".join(str(k) for k in (seed,) + keys)
    return zlib.crc32(text.encode("utf-8")) & 0x7FFFFFFF


@dataclass
class ProbeLoss:
    """One criterion as the probe uses it.

    Attributes:
        name: ``ssl_mse``, ``ssl_mse_pad`` or ``ssl_sdtw``.
        criterion: the criterion module (train or eval mode as requested).
        l2_normalize: whether frames are L2-normalised before ``compare``.
        conf: the constructor options given (for the report).
    """

    name: str
    criterion: torch.nn.Module
    l2_normalize: bool
    conf: Dict[str, Any] = field(default_factory=dict)

    @property
    def train_mode(self) -> bool:
        return bool(self.criterion.training)

    def perturb(self, u: torch.Tensor, seed: int, up) -> Tuple[torch.Tensor, torch.Tensor, dict, bool]:
        """The criterion's training-time change of the reference ``u`` (T,), drawn with ``seed``.

        Returns ``(ref (1, T'), lengths (1,), info, changed)``; ``changed`` is
        False when the criterion left the reference as it was (eval mode,
        ``ssl_mse``).  The global RNG is forked and seeded with ``seed``: the
        caller's random state is untouched.
        """
        wav = u[None]
        lengths = torch.tensor([u.shape[0]], device=u.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            with torch.no_grad():
                ref, ref_len, info = self.criterion.perturb_reference(wav, lengths, up)
        changed = ref is not wav
        return ref.to(u.dtype), ref_len, info, changed

    def reference(self, up, u: torch.Tensor, seed: int) -> Tuple[List[torch.Tensor], torch.Tensor, dict]:
        """Hidden states of the (perturbed, see :meth:`perturb`) reference ``u`` (T,).

        Returns ``(layers, flen, info)``: ``num_layers + 1`` tensors (1, F', D),
        the frame length (1,) and the criterion's ``info`` for ``compare``.
        """
        ref, ref_len, info, _ = self.perturb(u, seed, up)
        with torch.no_grad():
            layers, flen = up.extract_layers(ref, ref_len)
        return layers, flen, info

    def compare_layer(
        self,
        ref_feat: torch.Tensor,
        ref_flen: torch.Tensor,
        inf_feat: torch.Tensor,
        inf_flen: torch.Tensor,
        info: dict,
    ) -> torch.Tensor:
        """The criterion's value on one layer's features: (B, F', D), (B, F, D) -> (B,)."""
        if self.l2_normalize:  # zero (padding) frames stay zero
            ref_feat = F.normalize(ref_feat, p=2.0, dim=-1)
            inf_feat = F.normalize(inf_feat, p=2.0, dim=-1)
        return self.criterion.compare(ref_feat, ref_flen, inf_feat, inf_flen, info)

    def compare_many(
        self,
        ref_feat: torch.Tensor,
        ref_flen: torch.Tensor,
        inf_feats: torch.Tensor,
        inf_flens: torch.Tensor,
        info: dict,
    ) -> torch.Tensor:
        """One reference against ``C`` candidates in one call: (1, F', D), (C, F, D) -> (C,).

        The reference, its length and the per-utterance tensors of ``info``
        (first dimension 1) are repeated ``C`` times; every row is what
        :meth:`compare_layer` gives for that candidate alone.
        """
        C = inf_feats.shape[0]
        rep = {k: v.expand(C, *v.shape[1:]) if isinstance(v, torch.Tensor) and v.dim() and v.shape[0] == 1 else v
               for k, v in info.items()}
        return self.compare_layer(ref_feat.expand(C, -1, -1), ref_flen.expand(C), inf_feats, inf_flens, rep)


def build_loss(name: str, conf: Optional[Dict[str, Any]] = None, train: bool = True) -> ProbeLoss:
    """Build the criterion ``name`` with options ``conf``, in training (default) or eval mode.

    Raises ValueError naming the loss for an unknown name, an option the
    probe sets itself (``upstream``, ``layers``, ...) or an option the
    criterion rejects.
    """
    classes = loss_classes()
    if name not in classes:
        raise ValueError(f"unknown loss {name!r}; expected one of {list(classes)}")
    conf = dict(conf or {})
    reserved = sorted(set(conf) & set(_RESERVED))
    if reserved:
        raise ValueError(f"loss {name}: options {reserved} are set by the probe (--upstream, --layers)")
    cls = classes[name]
    try:
        crit = cls(**conf)
    except TypeError as e:
        raise ValueError(f"loss {name}: {e}") from None
    except ValueError as e:
        raise ValueError(f"loss {name}: {e}") from None
    crit.train(bool(train))
    return ProbeLoss(name=name, criterion=crit, l2_normalize=_l2_normalize(cls, crit, conf), conf=conf)


def accepted_options(name: str) -> Sequence[str]:
    """Constructor options of criterion ``name`` (own and inherited), without the reserved ones."""
    cls = loss_classes()[name]
    out: List[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is torch.nn.Module:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self" and p.name not in out:
                out.append(p.name)
        if klass.__name__ == "SSLRepresentationLoss":
            break
    return [o for o in out if o not in _RESERVED]
