"""FBNetV3's accuracy predictor (Dai et al. 2021, sec. 3.1-3.2): encoder + proxy head + accuracy head.

The encoder maps an encoded architecture(-recipe) (one-hot categorical, min-max numeric: `Space.encode`) to an
embedding of width 24. The *proxy head* predicts free statistics (FLOPs, params) from the embedding, so the encoder
can be pretrained on thousands of un-trained archs (stage 1); the *accuracy head* (one hidden layer) is then fitted
on the few trained ones with a Huber loss, first with the pretrained encoder frozen, then end to end at a lower lr
(stage 2). Works on plain numpy arrays: usable on its own, with any `Space`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.errors import ConfigError
from archsearch.ops.init import init_weights


@dataclass(frozen=True)
class PredictorConfig:
    embedding_width: int = 24  # FBNetV3 appendix: "the embedding width is 24" (joint search)
    encoder_layers: int = 2  # "MLP encoder" (interpretation: two fully connected layers of the embedding width)
    accuracy_hidden: int = 24  # FBNetV3: accuracy head = "one additional hidden layer" (width: interpretation)
    huber_delta: float = 1.0  # FBNetV3 sec. 3.2: Huber loss with delta = 1 (on accuracy in percent points)
    lr: float = 3e-3  # Adam (interpretation: the paper names no optimizer; measured on benchmarks/out/nars_pairs:
    #                   at 1e-3 the head cannot reach a +-20-point label spread in 100 epochs of tiny data)
    unfrozen_lr_factor: float = 0.1  # FBNetV3 sec. 3.2: second phase "with a reduced learning rate" (x0.1: interp.)
    weight_decay: float = 0.0  # interpretation: the paper mentions no regularisation of the predictor
    batch_size: int = 8  # interpretation: a few dozen labels, so small batches give enough steps per epoch
    pretrain_batch_size: int = 64  # interpretation: thousands of free labels in stage 1

    def __post_init__(self) -> None:
        if self.embedding_width < 1 or self.encoder_layers < 1 or self.accuracy_hidden < 1:
            raise ConfigError("predictor widths and encoder_layers must be >= 1")
        if self.huber_delta <= 0 or self.lr <= 0 or not 0 < self.unfrozen_lr_factor <= 1:
            raise ConfigError("predictor huber_delta and lr must be > 0 and unfrozen_lr_factor in (0, 1]")


class _Network(nn.Module):
    def __init__(self, input_width: int, config: PredictorConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = input_width
        for _ in range(config.encoder_layers):
            layers += [nn.Linear(width, config.embedding_width), nn.ReLU()]
            width = config.embedding_width
        self.encoder = nn.Sequential(*layers)
        self.proxy_head = nn.Linear(config.embedding_width, 2)  # standardised log FLOPs, log params
        self.accuracy_head = nn.Sequential(nn.Linear(config.embedding_width, config.accuracy_hidden), nn.ReLU(),
                                           nn.Linear(config.accuracy_hidden, 1))


class NARSPredictor:
    """``pretrain(x, proxies)`` (stage 1), ``fit(x, accuracy)`` (stage 2), ``predict(x) -> accuracy``.

    `x` is a float array (n, input_width) of encoded archs; accuracies are fractions in [0, 1]; proxies are raw
    (FLOPs, params) pairs (the predictor standardises their logs). All randomness comes from `generator`.
    """

    def __init__(self, input_width: int, config: PredictorConfig | None = None, *,
                 generator: torch.Generator | None = None) -> None:
        self.config = config or PredictorConfig()
        self.input_width = int(input_width)
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        with torch.random.fork_rng(devices=[]):  # construction draws a default init from the global RNG: undone
            self.network = _Network(self.input_width, self.config)
        init = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=self.generator)))
        init_weights(self.network, init, "pytorch")  # nn.Linear's own default init, from this predictor's generator
        self.pretrained = False
        self.fitted = False
        self._proxy_mean = torch.zeros(2)
        self._proxy_std = torch.ones(2)
        self._accuracy_offset = 0.0  # mean target (percent) of the last fit: the head learns the residual

    # -- stage 1 ----------------------------------------------------------------------------------------------
    def pretrain(self, x: np.ndarray, proxies: np.ndarray, *, epochs: int, val_fraction: float = 0.2,
                 batch_size: int | None = None) -> dict[str, list[float]]:
        """Train encoder + proxy head on (FLOPs, params) of ``1 - val_fraction`` of `x` (MSE on standardised
        logs), validate on the rest (FBNetV3 stage 1: 80 / 20). Returns per-epoch train / val MSE."""
        x_t, proxies_t = self._inputs(x), torch.as_tensor(np.asarray(proxies, dtype=np.float64))
        if proxies_t.shape != (len(x_t), 2) or bool((proxies_t <= 0).any()):
            raise ConfigError("proxies must be an (n, 2) array of positive FLOPs and params")
        logs = torch.log(proxies_t).float()
        order = torch.randperm(len(x_t), generator=self.generator)
        n_val = int(round(val_fraction * len(x_t)))
        val_idx, train_idx = order[:n_val], order[n_val:]
        if len(train_idx) == 0:
            raise ConfigError("pretraining needs at least one training arch")
        self._proxy_mean = logs[train_idx].mean(0)
        self._proxy_std = logs[train_idx].std(0).clamp_min(1e-6) if len(train_idx) > 1 else torch.ones(2)
        targets = (logs - self._proxy_mean) / self._proxy_std
        net = self.network
        params = list(net.encoder.parameters()) + list(net.proxy_head.parameters())
        optimizer = torch.optim.Adam(params, lr=self.config.lr, weight_decay=self.config.weight_decay)
        history: dict[str, list[float]] = {"train_mse": [], "val_mse": []}
        for _ in range(epochs):
            net.train()
            total = 0.0
            for batch in self._batches(train_idx, batch_size or self.config.pretrain_batch_size):
                loss = F.mse_loss(net.proxy_head(net.encoder(x_t[batch])), targets[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(batch)
            history["train_mse"].append(total / len(train_idx))
            history["val_mse"].append(self._proxy_mse(x_t[val_idx], targets[val_idx]) if n_val else math.nan)
        self.pretrained = True
        return history

    @torch.no_grad()
    def _proxy_mse(self, x: torch.Tensor, targets: torch.Tensor) -> float:
        self.network.eval()
        return float(F.mse_loss(self.network.proxy_head(self.network.encoder(x)), targets))

    @torch.no_grad()
    def predict_proxies(self, x: np.ndarray) -> np.ndarray:
        """Predicted (FLOPs, params) for encoded archs (meaningful after `pretrain`)."""
        self.network.eval()
        out = self.network.proxy_head(self.network.encoder(self._inputs(x))) * self._proxy_std + self._proxy_mean
        return torch.exp(out.double()).numpy()

    # -- stage 2 ----------------------------------------------------------------------------------------------
    def fit(self, x: np.ndarray, accuracy: np.ndarray, *, frozen_epochs: int = 50, unfrozen_epochs: int = 50,
            batch_size: int | None = None) -> dict[str, list[float]]:
        """Fit the accuracy head with Huber loss (delta 1, accuracy in percent points).

        FBNetV3 sec. 3.2: `frozen_epochs` with the (pretrained) encoder frozen, then `unfrozen_epochs` with every
        weight trained at ``lr * unfrozen_lr_factor``. Without pretraining there is nothing to protect, so the
        first phase trains everything at the full lr (the paper's recipe-only setting: no pretrained embedding).
        """
        x_t = self._inputs(x)
        y = torch.as_tensor(np.asarray(accuracy, dtype=np.float32)).reshape(-1) * 100.0
        if len(y) != len(x_t) or len(y) == 0:
            raise ConfigError(f"fit needs one accuracy per arch, got {len(y)} for {len(x_t)} archs")
        self._accuracy_offset = float(y.mean())
        targets = y - self._accuracy_offset
        net = self.network
        history: dict[str, list[float]] = {"loss": [], "phase": []}
        phases = [(frozen_epochs, self.pretrained, self.config.lr),
                  (unfrozen_epochs, False, self.config.lr * self.config.unfrozen_lr_factor)]
        index = torch.arange(len(y))
        for phase, (epochs, freeze, lr) in enumerate(phases, start=1):
            if epochs <= 0:
                continue
            for p in net.encoder.parameters():
                p.requires_grad_(not freeze)
            params = list(net.accuracy_head.parameters()) + ([] if freeze else list(net.encoder.parameters()))
            optimizer = torch.optim.Adam(params, lr=lr, weight_decay=self.config.weight_decay)
            for _ in range(epochs):
                net.train()
                total = 0.0
                for batch in self._batches(index, batch_size):
                    pred = net.accuracy_head(net.encoder(x_t[batch])).squeeze(1)
                    loss = F.huber_loss(pred, targets[batch], delta=self.config.huber_delta)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    total += float(loss.detach()) * len(batch)
                history["loss"].append(total / len(y))
                history["phase"].append(float(phase))
        for p in net.encoder.parameters():
            p.requires_grad_(True)
        self.fitted = True
        return history

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted accuracy (fraction) for each encoded arch."""
        self.network.eval()
        out = self.network.accuracy_head(self.network.encoder(self._inputs(x))).squeeze(1)
        return ((out.double() + self._accuracy_offset) / 100.0).numpy()

    # -- helpers ----------------------------------------------------------------------------------------------
    def _inputs(self, x: np.ndarray) -> torch.Tensor:
        x_t = torch.as_tensor(np.asarray(x, dtype=np.float32))
        if x_t.ndim != 2 or x_t.shape[1] != self.input_width:
            raise ConfigError(f"predictor input must have shape (n, {self.input_width}), got {tuple(x_t.shape)}")
        return x_t

    def _batches(self, index: torch.Tensor, batch_size: int | None):
        size = batch_size or self.config.batch_size
        order = index[torch.randperm(len(index), generator=self.generator)]
        for start in range(0, len(order), size):
            yield order[start:start + size]

    # -- state --------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Plain data + tensors (checkpoint-safe, loads with weights_only=True)."""
        return {"network": {k: v.clone() for k, v in self.network.state_dict().items()},
                "input_width": self.input_width, "pretrained": self.pretrained, "fitted": self.fitted,
                "proxy_mean": self._proxy_mean.clone(), "proxy_std": self._proxy_std.clone(),
                "accuracy_offset": self._accuracy_offset, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["input_width"]) != self.input_width:
            raise ConfigError(f"predictor state is for input width {state['input_width']}, not {self.input_width}")
        self.network.load_state_dict(state["network"])
        self.pretrained = bool(state["pretrained"])
        self.fitted = bool(state["fitted"])
        self._proxy_mean = state["proxy_mean"].clone()
        self._proxy_std = state["proxy_std"].clone()
        self._accuracy_offset = float(state["accuracy_offset"])
        self.generator.set_state(state["generator"])


__all__ = ["NARSPredictor", "PredictorConfig"]
