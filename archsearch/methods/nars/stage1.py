"""Stage 1 of NARS, predictor pretraining (FBNetV3 sec. 3.2): the predictor's encoder and proxy head learn the FLOPs
and params of the Sobol pool, labels that cost nothing, on 80% of it (validated on the other 20%)."""

from __future__ import annotations

import json
from typing import Any

from archsearch.methods.context import RunContext
from archsearch.methods.nars.config import NARSConfig
from archsearch.methods.nars.space import NARSSpace
from archsearch.predictors.nars import NARSPredictor


class PredictorPretraining:
    """Stage 1. Recipe-only mode skips it: FLOPs/params do not depend on the recipe, and the paper uses no
    pretrained embedding there (appendix)."""

    def __init__(self, space: NARSSpace, predictor: NARSPredictor, config: NARSConfig, ctx: RunContext) -> None:
        self.space, self.predictor, self.config, self.ctx = space, predictor, config, ctx
        self.pretrained_state: dict[str, Any] | None = None  # the predictor right after pretraining
        self.history: dict[str, list[float]] = {}  # per-epoch proxy train / val MSE

    def run(self) -> None:
        if self.config.mode == "recipe":
            self.ctx.log("nars stage 1: skipped (recipe-only mode: FLOPs/params do not depend on the recipe)")
            return
        x = self.space.joint.encode_many(self.space.pool)
        history = self.predictor.pretrain(x, self.space.pool_costs, epochs=self.config.pretrain_epochs,
                                          val_fraction=self.config.pretrain_val_fraction)
        self.history = history
        self.pretrained_state = self.predictor.state_dict()
        for epoch, (train_mse, val_mse) in enumerate(zip(history["train_mse"], history["val_mse"]), start=1):
            self.ctx.log_metrics("pretrain", epoch, train_mse=train_mse, val_mse=val_mse)
        self.ctx.log(f"nars stage 1: proxy val MSE {history['val_mse'][0]:.4f} -> {history['val_mse'][-1]:.4f} "
                     f"on {len(x)} pool archs")

    def reset_predictor(self) -> None:
        """Back to the pretrained predictor (its generator's stream goes on), so each fit of stage 2 starts from the
        pretrained encoder; without pretraining, nothing to reset."""
        if self.pretrained_state is not None:
            self.predictor.load_state_dict({**self.pretrained_state,
                                            "generator": self.predictor.generator.get_state()})

    def state_dict(self) -> dict[str, Any]:
        return {"pretrained_state": self.pretrained_state, "pretrain_history": json.dumps(self.history)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pretrained_state = state["pretrained_state"]
        self.history = json.loads(state["pretrain_history"])


__all__ = ["PredictorPretraining"]
