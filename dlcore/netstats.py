"""Inside the network while it trains: per-layer weight and gradient norms, saturated and dead units.

The trainer calls `layer_stats` at the end of an epoch (every epoch for short runs, thinned for long ones, and, past a
first `STATS_FREE` seconds of them, only while they cost under `STATS_BUDGET` of the training time), so the numbers
cost a few small reductions and one forward pass over a fixed probe of at most `PROBE` training points, not a hook on
every step. Layers are the model's weighted layers (linear and convolution) in order; the units after each one are
judged by the activation that follows it:
- saturated (sigmoid, tanh): the unit's output lies within `SATURATION` of its limits (sigmoid 0 or 1, tanh -1 or 1),
  where its derivative, and so the gradient through it, is under a tenth of its peak;
- dead (ReLU): the unit outputs zero for every probe point, so no gradient reaches its incoming weights.
"""

from __future__ import annotations

import torch
from torch import nn

from .planar import PLANAR as PLANAR_SETS

PROBE = 256  # training points fed through the net to judge its units
SATURATION = 0.02  # distance from an activation's limit that counts as saturated
STATS_RECORDS = 250  # about this many stats records per run, whatever its length
STATS_EARLY = 20  # and at each of the first epochs, so a long run's view does not start empty
STATS_BUDGET = 0.02  # but only while they cost under this share of the training time (a tiny net's step is cheap)...
STATS_FREE = 0.05  # ...once past this many seconds of them, so a short run still gets its curves


def weighted_layers(model: nn.Module) -> list[nn.Module]:
    """The layers with a weight matrix or kernel, in forward order."""
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def layer_names(n: int) -> list[str]:
    """ "layer 1", "layer 2", ..., "output" for n weighted layers."""
    return [f"layer {i + 1}" for i in range(n - 1)] + ["output"]


def stats_every(epochs: int) -> int:
    """Epochs between two stats records: every epoch for short runs, about STATS_RECORDS per run for long ones."""
    return max(1, epochs // STATS_RECORDS)


def stats_due(epoch: int, every: int, epochs: int) -> bool:
    """Whether the end of `epoch` (1-based) gets a stats record: the first STATS_EARLY epochs, then every `every`-th,
    and the last."""
    return bool(every) and (epoch <= STATS_EARLY or epoch % every == 0 or epoch == epochs)


def _unit_share(out: torch.Tensor, kind: str) -> torch.Tensor:
    """The saturated (sigmoid, tanh) or dead (ReLU) share of one layer's units, from its activation's output on the
    probe (B, units, ...), as a 0-d tensor."""
    if kind == "sigmoid":
        return ((out < SATURATION) | (out > 1 - SATURATION)).float().mean()
    if kind == "tanh":
        return (out.abs() > 1 - SATURATION).float().mean()
    peak = out.amax(dim=[0, *range(2, out.ndim)])  # ReLU: each unit's (channel's) largest output on the probe
    return (peak <= 0).float().mean()


KINDS = ((nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh"), (nn.ReLU, "relu"))


class LayerStats:
    """A model's per-layer statistics, with the walk through its layers worked out once (it runs every few epochs)."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.layers = weighted_layers(model)
        self.names = layer_names(len(self.layers))
        self.weights = [m.weight for m in self.layers]
        # (module, layer index it belongs to, unit kind or "") for a Sequential, walked in order on the probe
        self.plan: list[tuple[nn.Module, int, str]] = []
        if isinstance(model, nn.Sequential):
            k = -1
            for m in model:
                if any(m is w for w in self.layers):
                    k = next(i for i, w in enumerate(self.layers) if m is w)
                kind = next((name for cls, name in KINDS if isinstance(m, cls)), "")
                self.plan.append((m, k, kind if 0 <= k < len(self.layers) - 1 else ""))
        # dropout and batch norm behave differently in training; only then is eval mode worth switching to
        self.switch_mode = any(isinstance(m, (nn.Dropout, nn.BatchNorm1d, nn.BatchNorm2d)) for m in model.modules())

    @torch.no_grad()
    def __call__(self, probe: torch.Tensor, grads: list | None = None) -> list[dict]:
        """One record per weighted layer: {"layer", "units", "weight_norm", "grad_norm", and "saturated" or "dead"
        where the activation after it has such units}. Norms are Frobenius norms of the weight (not the bias) and of its
        gradient from the last step (or of `grads`, one per weight, when given)."""
        ws = self.weights
        grads = grads if grads is not None else [w.grad for w in ws]
        values = [torch.linalg.vector_norm(w) for w in ws]
        values += [torch.linalg.vector_norm(g) if g is not None else w.new_zeros(()) for w, g in zip(ws, grads)]
        shares: list[tuple[int, str]] = []  # (layer index, "saturated" | "dead") of each share after the norms
        if self.plan and len(probe):
            was_training = self.model.training
            if self.switch_mode:
                self.model.eval()  # no dropout while probing; batch norm uses its running statistics
            try:
                h = probe
                for m, k, kind in self.plan:
                    h = m(h)
                    if kind:
                        values.append(_unit_share(h, kind).to(values[0].dtype))
                        shares.append((k, "dead" if kind == "relu" else "saturated"))
            finally:
                if self.switch_mode:
                    self.model.train(was_training)
        nums = torch.stack(values).tolist()  # one synchronisation for everything
        n = len(ws)
        out = [{"layer": name, "units": int(ws[i].shape[0]), "weight_norm": nums[i], "grad_norm": nums[n + i]}
               for i, name in enumerate(self.names)]
        for (k, key), v in zip(shares, nums[2 * n:]):
            out[k][key] = v
        return out


def dead_text(layers: list[dict] | None) -> str:
    """The dead-ReLU count per layer for a status line, e.g. "dead ReLUs: layer 1 14/100, layer 2 6/25"."""
    parts = [f"{x['layer']} {round(x['dead'] * x['units'])}/{x['units']}" for x in layers or () if "dead" in x]
    return "dead ReLUs: " + ", ".join(parts) if parts else ""


def layer_stats(model: nn.Module, probe: torch.Tensor) -> list[dict]:
    """Per-layer statistics of `model` on `probe` (see LayerStats)."""
    return LayerStats(model)(probe)


def _pct(share: float) -> str:
    return f"{100 * share:.1f} %" if 0 < share < 0.01 else f"{100 * share:.0f} %"


def _trend(records: list, recs: list) -> tuple[bool, bool, float, float]:
    """Over the last tenth of a run: (loss still falling, layer 1's weights still growing, its norm then, now).

    The layer records may be sparse (a time budget spaces them), so the latest one at or before 90 % of the epochs
    stands for "then"; the loss comes from the epoch records, which every epoch has."""
    then = 0.9 * recs[-1].epoch
    w_then = next((r for r in reversed(recs) if r.epoch <= then), recs[0]).layers[0]["weight_norm"]
    w_now = recs[-1].layers[0]["weight_norm"]
    epochs = [r for r in records if r.test_loss is not None and not r.done]
    loss_then = next((r for r in reversed(epochs) if r.epoch <= then), epochs[0]).train_loss
    return loss_then - epochs[-1].train_loss > 0.002 * abs(loss_then), w_now > 1.01 * w_then, w_then, w_now


def finding(records: list, cfg) -> str:  # noqa: C901, PLR0911  one rule per outcome, read top to bottom
    """One line on what the recorded norms say about a finished run: saturated or dead units, a linear model, a step
    too small for the epochs, a model that cannot fit, or healthy. `records` are the run's Progress records, in
    order; `cfg` its RunConfig."""
    recs = [r for r in records if r.layers]
    if len(recs) < 3:
        return ""
    last, final, m = recs[-1].layers, records[-1], records[-1].metrics
    score_name = "accuracy" if "train_accuracy" in m else "R²"
    score = m.get("train_accuracy", m.get("train_r2", 0.0))
    sat = max(((layer.get("saturated", 0.0), i) for i, layer in enumerate(last)), default=(0.0, 0))
    dead = max(((layer.get("dead", 0.0), i) for i, layer in enumerate(last)), default=(0.0, 0))
    grads = ", ".join(f"{layer['grad_norm']:.1e}" for layer in last)
    if sat[0] >= 0.5:
        return (f"{_pct(sat[0])} of {last[sat[1]]['layer']}'s {cfg.activation} outputs are saturated, where their "
                f"gradient nearly vanishes (gradient norms {grads}): try smaller weights (a lower learning rate) or ReLU.")
    if dead[0] >= 0.5:
        return (f"{_pct(dead[0])} of {last[dead[1]]['layer']}'s ReLUs are dead (zero for every probed training point), "
                "so no gradient reaches their weights: try a lower learning rate or leaky_relu.")
    falling, growing, w_then, w_now = _trend(records, recs)
    fitted = score >= 0.9
    linear = cfg.model == "linear" or cfg.activation == "identity"
    if not fitted and linear and (score_name == "accuracy" or not falling):
        return (f"A linear map: with no non-linearity between its layers the model is linear in its inputs (straight "
                f"boundaries, or a plane for a value), so it cannot fit these points however long it trains (train {score_name} "
                f"{score:.2f}); give it a non-linearity such as ReLU"
                + (", or input features such as x1*x2 and x1²." if cfg.dataset in PLANAR_SETS else "."))
    most = max((x.get("saturated", 0.0) for r in recs for x in r.layers), default=0.0)
    units = (f"saturated units never above {_pct(most)}" if any("saturated" in x for x in last)
             else f"dead ReLUs at most {_pct(dead[0])}" if any("dead" in x for x in last) else "no saturating units")
    if not fitted and (falling or growing):
        adaptive = cfg.optimizer in ("adam", "adamw", "rmsprop")
        signs = [f"the loss is still falling at epoch {final.epoch:g}"] if falling else []
        if growing:
            signs.append(f"layer 1's weight norm keeps growing ({recs[0].layers[0]['weight_norm']:.1f} → {w_now:.1f})")
        return (f"Not vanishing gradients: {units} and the gradients did not die out (norms {grads}); "
                f"{' while '.join(signs)}: at lr {cfg.lr:g} the steps are too small for {cfg.epochs} epochs"
                + (" (Adam-type optimizers move each weight by about lr per step)" if adaptive else "")
                + f". Try lr {(10 if adaptive else 3) * cfg.lr:g} or ten times the epochs.")
    if not fitted:
        return (f"Stuck, not slow: the loss stopped falling ({final.train_loss:.3f}) with {units}: this model cannot "
                "fit the data as it is; give it more input features or hidden units.")
    return f"Healthy: {units}; gradient norms at the end {grads}."
