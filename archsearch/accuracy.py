"""What a run's accuracies are, named everywhere they are shown (progress, leaderboard, show, report, ledger).

A search ranks candidates by a proxy, and the proxies differ: a supernet's inherited weights ("supernet acc."),
a predictor's estimate ("predicted acc."), or a short training from scratch ("acc. after E ep."). None of them is
the network's accuracy; that is the final training's "test acc.". A method's config names its kind in the class
attribute ``ACCURACY`` (a key of `KINDS`), read into its `MethodSpec`; the experiment writes the resolved label into
config.yaml, result.json and the ledger's metric names, so reports read it without importing the method.
"""

from __future__ import annotations

from typing import Any

# kind -> (label, ledger metric name); "{epochs}": the epochs of its training (MethodSpec.accuracy_epochs)
KINDS: dict[str, tuple[str, str]] = {
    "supernet": ("supernet acc.", "supernet_accuracy"),  # weights inherited from a (partly) trained supernet
    "predicted": ("predicted acc.", "predicted_accuracy"),  # an accuracy predictor's estimate
    "trained": ("acc. after {epochs} ep.", "accuracy_after_{epochs}_epochs"),  # short training from scratch
    "trained_up_to": ("acc. after ≤{epochs} ep.", "accuracy_after_up_to_{epochs}_epochs"),  # ... cut short early
}
VALIDATION = {"kind": "validation", "label": "val. acc.", "metric": "accuracy"}  # a method that names none
TEST = {"kind": "test", "label": "test acc.", "metric": "test_accuracy"}  # the final training's number


def accuracy_spec(kind: str | None, epochs: float | None = None) -> dict[str, str]:
    """``{"kind", "label", "metric"}`` of an accuracy of `kind` (see `KINDS`; None: plain validation accuracy);
    `epochs` fills a trained kind's label."""
    if kind is None:
        return dict(VALIDATION)
    if kind not in KINDS:
        raise ValueError(f"accuracy kind {kind!r} is not one of {sorted(KINDS)}")
    label, metric = KINDS[kind]
    if "{epochs}" in label:
        text = "?" if epochs is None else f"{epochs:g}"
        label, metric = label.format(epochs=text), metric.format(epochs=text.replace(".", "_"))
    return {"kind": kind, "label": label, "metric": metric}


def recorded_accuracy(*documents: Any) -> dict[str, str]:
    """The accuracy spec a run recorded (the ``accuracy`` entry of config.yaml or result.json, first found);
    runs from before kinds were named ranked by plain validation accuracy."""
    for document in documents:
        spec = document.get("accuracy") if isinstance(document, dict) else None
        if isinstance(spec, dict) and spec.get("label"):
            return {k: str(v) for k, v in spec.items()}
    return dict(VALIDATION)


__all__ = ["KINDS", "TEST", "VALIDATION", "accuracy_spec", "recorded_accuracy"]
