"""FBNetV3's search spaces: the architecture ("fbnet") and the training recipe ("recipe"), and their product.

FBNetV3 (Dai et al. 2021, arXiv:2006.02049, Table 3) searches a MobileNetV3-like network: input resolution, and per
stage the kernel size, expansion (one value for the stage's first block, one for the rest), channels, number of
blocks, squeeze-excitation on/off and activation (relu / hswish); parameters that carry the same superscript in the
paper's table share one value (here: the same ``marker`` gives one shared choice). The recipe space holds the
training hyper-parameters searched jointly: optimizer (RMSProp / SGD; SGD's lr is x4), lr, weight decay, EMA on/off,
dropout, stochastic depth, mixup. `joint_space` is their product; `split_joint` / `recipe_from_arch` take it apart;
"fbnet-recipe" (`FBNetRecipeSpace`) is the product as a buildable SearchSpace (NARS's default).

Costs are analytic (multiply-adds of convs / linears and parameter counts, equal to ``torch.utils.flop_counter``
FLOPs / 2), so a predictor's free proxy labels (stage 1 of NARS) cost microseconds per arch.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.cost.constraints import Cost
from archsearch.errors import ConfigError, unknown_name
from archsearch.ops.mbconv import ConvBNAct, MBConv, activation, conv_bn_cost, make_divisible, mbconv_cost
from archsearch.space.choices import Categorical, Choice, Numeric
from archsearch.space.space import Arch, Space, product
from archsearch.spaces import register_space
from archsearch.train.recipe import Recipe

ACTIVATIONS = ("relu", "hswish")
PRESETS = ("paper", "quick", "smoke")
WIDTH_DIVISOR = 8  # MobileNetV3 (the `_make_divisible` of its code): expanded and head widths are multiples of 8


# ---------------------------------------------------------------------------------------------------------------
# Configuration: the search-space table as data
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StageSpec:
    """One row of FBNetV3's Table 3 (an MBConv stage). Ranges are ``(low, high[, step])`` (step 1 if omitted);
    a 1-tuple/int is fixed. ``first_expansion`` is the value left of the table's slash (first block of the stage),
    ``expansion`` the one right of it (the other blocks). ``markers`` maps a field to a marker shared between
    stages (the table's superscripts): stages (and the stem) with the same marker share one choice."""

    kernels: tuple[int, ...]
    expansion: tuple[int, ...]
    channels: tuple[int, ...]
    repeats: tuple[int, ...]
    stride: int
    se: tuple[bool, ...] = (False, True)
    activations: tuple[str, ...] = ACTIVATIONS
    first_expansion: tuple[int, ...] | None = None
    markers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FBNetConfig:
    resolutions: tuple[int, ...]  # (low, high, step) of the input resolution
    stem_channels: tuple[int, ...]
    stem_stride: int
    stem_activations: tuple[str, ...]
    stages: tuple[StageSpec, ...]
    head_expansion: int  # "efficient last stage" (MobileNetV3): 1x1 conv to e * C, pool, then a wide linear
    head_channels: int
    stem_marker: str | None = None
    dropout: float = 0.2  # MobileNetV3 classifier dropout; the recipe's `dropout` overrides it


_HS = ("hswish",)
# FBNetV3 Table 3 (ImageNet, 224-272 px). Channel ranges, strides, SE and hswish per row as in the table; the
# stem and the first (e = 1) stage carry the same superscript (shared channels); the expansion "first/rest" split
# (4..7 / 2..5) and the repeat ranges are read from the table as best we could (interpretation: consistent with the
# released FBNetV3-A..G models, e.g. A = 16, 24, 40, 72, 120, 184, 224 channels with first/rest e = 4/2 .. 6/4).
PAPER = FBNetConfig(
    resolutions=(224, 272, 8),
    stem_channels=(16, 24, 2), stem_stride=2, stem_activations=_HS, stem_marker="a",
    stages=(
        StageSpec((3, 5), (1,), (16, 24, 2), (1, 2), 1, se=(False,), activations=_HS, markers={"channels": "a"}),
        StageSpec((3, 5), (2, 5), (20, 32, 4), (4, 7), 2, se=(False,), activations=_HS, first_expansion=(4, 7)),
        StageSpec((3, 5), (2, 5), (24, 48, 8), (4, 7), 2, se=(True,), activations=_HS, first_expansion=(4, 7)),
        StageSpec((3, 5), (2, 5), (56, 84, 4), (4, 8), 2, se=(False,), activations=_HS, first_expansion=(4, 7)),
        StageSpec((3, 5), (2, 5), (96, 144, 8), (6, 10), 1, se=(True,), activations=_HS, first_expansion=(4, 7)),
        StageSpec((3, 5), (2, 5), (180, 224, 8), (5, 9), 2, se=(True,), activations=_HS, first_expansion=(4, 7)),
        StageSpec((3, 5), (6,), (180, 224, 8), (1,), 1, se=(True,), activations=_HS),
    ),
    head_expansion=6, head_channels=1984,  # Table 3 "MBPool": e = 6, 1984 channels
)
# Small presets for 28x28 inputs (interpretation: the paper's layout scaled to CPU minutes): a stride-2 stem (the
# measured 3-5x speed-up of early downsampling, docs/architecture.md), three downsampling stages, SE and
# relu/hswish searchable.
QUICK = FBNetConfig(
    resolutions=(24, 32, 4),
    stem_channels=(8, 16, 4), stem_stride=2, stem_activations=ACTIVATIONS, stem_marker="a",
    stages=(
        StageSpec((3, 5), (1,), (8, 16, 4), (1, 2), 1, markers={"channels": "a"}),
        StageSpec((3, 5), (2, 4), (16, 24, 4), (1, 3), 2, first_expansion=(3, 6)),
        StageSpec((3, 5), (2, 4), (24, 40, 8), (1, 3), 2, first_expansion=(3, 6)),
        StageSpec((3, 5), (3, 6), (40, 64, 8), (1, 2), 1),
    ),
    head_expansion=4, head_channels=128,
)
SMOKE = FBNetConfig(
    resolutions=(16, 24, 4),
    stem_channels=(4, 8, 4), stem_stride=2, stem_activations=ACTIVATIONS, stem_marker="a",
    stages=(
        StageSpec((3,), (1,), (4, 8, 4), (1,), 1, markers={"channels": "a"}),
        StageSpec((3, 5), (2, 3), (8, 16, 8), (1, 2), 2, first_expansion=(2, 4)),
        StageSpec((3, 5), (2, 3), (16, 24, 8), (1, 2), 2),
    ),
    head_expansion=2, head_channels=32,
)
_CONFIGS = {"paper": PAPER, "quick": QUICK, "smoke": SMOKE}


def _range_choice(values: Sequence[int]) -> Choice:
    values = tuple(values)
    if len(values) == 1:
        return Numeric(values[0], values[0], 1)
    low, high = values[0], values[1]
    step = values[2] if len(values) > 2 else 1
    return Numeric(low, high, step)


# ---------------------------------------------------------------------------------------------------------------
# Network pieces: MobileNetV3's MBConv (ops/mbconv.py) with SE, relu / hswish, widths rounded to multiples of 8 and
# stochastic depth on residual blocks
# ---------------------------------------------------------------------------------------------------------------
def fbnet_block(c_in: int, c_out: int, *, kernel: int, expansion: int, stride: int, se: bool, act: str) -> MBConv:
    """Inverted residual (MobileNetV2) with optional SE and hswish (MobileNetV3), its inner width rounded to a
    multiple of 8; residual + stochastic depth when the stride is 1 and the channels match."""
    return MBConv(c_in, c_out, kernel=kernel, expansion=expansion, stride=stride, se=se, act=act,
                  width_divisor=WIDTH_DIVISOR, drop_path=True)


class FBNet(nn.Module):
    """Resize to the searched resolution, stem, MBConv stages, efficient last stage (MobileNetV3) and classifier."""

    def __init__(self, resolution: int, stem: nn.Module, blocks: list[nn.Module], head: nn.Module,
                 classifier: nn.Module) -> None:
        super().__init__()
        self.resolution = resolution
        self.stem = stem
        self.blocks = nn.Sequential(*blocks)
        self.head = head
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.resolution or x.shape[-2] != self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False)
        x = self.head(self.blocks(self.stem(x)))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ---------------------------------------------------------------------------------------------------------------
# The architecture space
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Block:
    c_in: int
    c_out: int
    kernel: int
    expansion: int
    stride: int
    se: bool
    act: str


class FBNetSpace:
    """The "fbnet" SearchSpace: `space` of choices, `build(arch)`, analytic `cost(arch)`."""

    def __init__(self, config: FBNetConfig, *, input_shape: tuple[int, int, int], num_classes: int,
                 name: str = "fbnet") -> None:
        self.config = config
        self.name = name
        self.input_shape = input_shape
        self.num_classes = num_classes
        self.space = Space(self._choices(), name=name)
        fields = ("kernel", "first_expansion", "expansion", "channels", "repeats", "se", "act")
        self._keys = [{f: self._field_name(i, f) for f in fields} for i in range(len(config.stages))]
        self._stem_key = f"channels.{config.stem_marker}" if config.stem_marker else "stem.channels"

    # -- choices ----------------------------------------------------------------------------------------------
    def _field_name(self, stage: int, field_name: str) -> str:
        marker = self.config.stages[stage].markers.get(field_name)
        return f"{field_name}.{marker}" if marker else f"s{stage + 1}.{field_name}"

    def _choices(self) -> list[tuple[str, Choice]]:
        cfg = self.config
        out: dict[str, Choice] = {"resolution": _range_choice(cfg.resolutions)}
        stem_name = f"channels.{cfg.stem_marker}" if cfg.stem_marker else "stem.channels"
        out[stem_name] = _range_choice(cfg.stem_channels)
        out["stem.act"] = Categorical(cfg.stem_activations)
        for i, stage in enumerate(cfg.stages):
            fields: list[tuple[str, Choice]] = [("kernel", Categorical(stage.kernels))]
            if stage.first_expansion is not None:
                fields.append(("first_expansion", _range_choice(stage.first_expansion)))
            fields += [("expansion", _range_choice(stage.expansion)), ("channels", _range_choice(stage.channels)),
                       ("repeats", _range_choice(stage.repeats)), ("se", Categorical(stage.se)),
                       ("act", Categorical(stage.activations))]
            for field_name, choice in fields:
                key = self._field_name(i, field_name)
                if key in out and out[key] != choice:
                    raise ConfigError(f"fbnet: stages sharing marker {key!r} must have the same range")
                out.setdefault(key, choice)
        return list(out.items())

    # -- decoding an arch into blocks -------------------------------------------------------------------------
    def _stem_channels(self, arch: Mapping[str, object]) -> int:
        return int(arch[self._stem_key])  # type: ignore[call-overload]

    def _blocks(self, arch: Mapping[str, object]) -> list[_Block]:
        values = arch.to_dict() if isinstance(arch, Arch) else arch  # one pass: Arch lookups are linear
        blocks = []
        c_in = self._stem_channels(values)
        for stage, keys in zip(self.config.stages, self._keys):
            c_out = int(values[keys["channels"]])  # type: ignore[call-overload]
            for j in range(int(values[keys["repeats"]])):  # type: ignore[call-overload]
                first = j == 0
                expansion = values[keys["first_expansion"] if first and stage.first_expansion is not None
                                   else keys["expansion"]]
                blocks.append(_Block(c_in, c_out, int(values[keys["kernel"]]), int(expansion),  # type: ignore
                                     stage.stride if first else 1, bool(values[keys["se"]]), str(values[keys["act"]])))
                c_in = c_out
        return blocks

    def _head_widths(self, arch: Mapping[str, object], blocks: list[_Block] | None = None) -> tuple[int, int]:
        blocks = self._blocks(arch) if blocks is None else blocks
        last = blocks[-1].c_out if blocks else self._stem_channels(arch)
        return last, make_divisible(last * self.config.head_expansion, WIDTH_DIVISOR)

    def default_arch(self) -> Arch:
        """The middle of every range (the fixed baseline of recipe-only search; interpretation: the paper used a
        scaled FBNetV2 model, i.e. one fixed point of a similar space)."""
        return self.space.from_unit([0.5] * len(self.space))

    # -- build ------------------------------------------------------------------------------------------------
    def build(self, arch: Arch) -> nn.Module:
        arch = self.space.validate(arch)
        stem_act = str(arch["stem.act"])
        c_stem = self._stem_channels(arch)
        stem = ConvBNAct(self.input_shape[0], c_stem, 3, self.config.stem_stride, act=stem_act)
        specs = self._blocks(arch)
        blocks = [fbnet_block(b.c_in, b.c_out, kernel=b.kernel, expansion=b.expansion, stride=b.stride, se=b.se,
                              act=b.act) for b in specs]
        last, wide = self._head_widths(arch)
        head_act = specs[-1].act if specs else stem_act
        head = ConvBNAct(last, wide, 1, 1, act=head_act)
        classifier = nn.Sequential(nn.Linear(wide, self.config.head_channels), activation(head_act),
                                   nn.Dropout(self.config.dropout), nn.Linear(self.config.head_channels,
                                                                              self.num_classes))
        return FBNet(int(arch["resolution"]), stem, blocks, head, classifier)

    # -- cost -------------------------------------------------------------------------------------------------
    def cost(self, arch: Arch) -> Cost:
        """Multiply-adds (= flop_counter FLOPs / 2) and parameters (BN included), without building the model.
        Reads only this space's choices, so a point of a product space (`FBNetRecipeSpace`) works as it is."""
        arch = arch if isinstance(arch, Arch) else self.space.validate(arch)
        values = arch.to_dict()
        resolution = int(values["resolution"])
        blocks = self._blocks(values)
        macs, params, (size, _) = conv_bn_cost(self.input_shape[0], self._stem_channels(values), 3,
                                               self.config.stem_stride, (resolution, resolution))
        for b in blocks:
            block_macs, block_params, size = _block_cost(size, b.c_in, b.c_out, b.kernel, b.expansion, b.stride, b.se)
            macs += block_macs
            params += block_params
        last, wide = self._head_widths(values, blocks)
        head_macs, head_params, _ = conv_bn_cost(last, wide, 1, 1, (size, size))
        hidden = self.config.head_channels
        macs += head_macs + wide * hidden + hidden * self.num_classes
        params += head_params + wide * hidden + hidden + hidden * self.num_classes + self.num_classes
        return Cost(macs=int(macs), params=int(params))


@functools.lru_cache(maxsize=65536)
def _block_cost(size: int, c_in: int, c_out: int, kernel: int, expansion: int, stride: int,
                se: bool) -> tuple[int, int, int]:
    """(MACs, params, output size) of one `fbnet_block` on a square input. Memoised: NARS stage 3 checks the
    constraint of ~10^5 children, which repeat the same few hundred blocks."""
    macs, params, (out, _) = mbconv_cost(c_in, c_out, kernel=kernel, expansion=expansion, stride=stride, se=se,
                                         size=(size, size), width_divisor=WIDTH_DIVISOR)
    return macs, params, out


def _input_shape(input_size: int | Sequence[int] | None, default: tuple[int, int, int]) -> tuple[int, int, int]:
    if input_size is None:
        return default
    if isinstance(input_size, int):
        return (default[0], input_size, input_size)
    shape = tuple(int(v) for v in input_size)
    if len(shape) != 3:
        raise ConfigError(f"fbnet: input_size must be an int or (C, H, W), got {input_size!r}")
    return shape  # type: ignore[return-value]


@register_space("fbnet")
def create_fbnet_space(preset: str = "quick", *, num_classes: int | None = None,
                       input_size: int | Sequence[int] | None = None, in_channels: int | None = None) -> FBNetSpace:
    """FBNetV3's architecture space; ``preset="paper"`` is Table 3 (ImageNet), "quick"/"smoke" suit 28x28."""
    if preset not in _CONFIGS:
        raise unknown_name("fbnet preset", preset, _CONFIGS)
    paper = preset == "paper"
    shape = _input_shape(input_size, (3, 224, 224) if paper else (1, 28, 28))
    if in_channels is not None:
        shape = (int(in_channels), shape[1], shape[2])
    classes = num_classes if num_classes is not None else (1000 if paper else 10)
    return FBNetSpace(_CONFIGS[preset], input_shape=shape, num_classes=classes)


# ---------------------------------------------------------------------------------------------------------------
# The recipe space
# ---------------------------------------------------------------------------------------------------------------
RECIPE_FIELDS = ("optimizer", "lr", "weight_decay", "ema", "dropout", "drop_path", "mixup_alpha")
SGD_LR_FACTOR = 4.0  # FBNetV3 Table 3 note: "if optim is SGD, lr is multiplied by 4"


def recipe_space(preset: str = "quick", *, ema: Sequence[bool] = (True, False)) -> Space:
    """FBNetV3's training-recipe space as a pure `Space` (no network).

    paper: Table 3 (recalled ranges): optim [RMSProp, SGD], lr (0.020, 0.030) (RMSProp; x4 for SGD), weight
    decay (7e-6, 21e-6), EMA [true, false], dropout (0.1, 0.3)... mixup (0, 0.4). quick / smoke (interpretation):
    the same fields with ranges for batch 128 on a small CPU network (lr and wd log-uniform over a decade).
    ``ema=(True,)`` fixes EMA on (FBNetV3 sec. 4.2: the joint search always uses EMA, to shrink the space).
    """
    if preset not in PRESETS:
        raise unknown_name("recipe preset", preset, PRESETS)
    if preset == "paper":
        ranges: dict[str, Choice] = {
            "lr": Numeric(0.020, 0.030),  # Table 3: lr (20, 30) x 1e-3
            "weight_decay": Numeric(7e-6, 21e-6),  # Table 3: wd (7, 21) x 1e-6
            "dropout": Numeric(0.10, 0.30),  # Table 3: p
            "drop_path": Numeric(0.10, 0.30),  # Table 3: d
            "mixup_alpha": Numeric(0.0, 0.40),  # Table 3: m
        }
    else:
        ranges = {
            "lr": Numeric(1e-3, 1e-2, log=True),  # RMSProp at batch 128 (SGD: 4e-3 .. 4e-2)
            "weight_decay": Numeric(1e-5, 1e-4, log=True),
            "dropout": Numeric(0.0, 0.30),
            "drop_path": Numeric(0.0, 0.20),
            "mixup_alpha": Numeric(0.0, 0.40),
        }
    choices: list[tuple[str, Choice]] = [
        ("optimizer", Categorical(("rmsprop", "sgd"))),  # Table 3: optim [RMSProp, SGD]
        ("lr", ranges["lr"]),
        ("weight_decay", ranges["weight_decay"]),
        ("ema", Categorical(tuple(bool(v) for v in ema))),  # Table 3: ema [true, false]
        ("dropout", ranges["dropout"]),
        ("drop_path", ranges["drop_path"]),
        ("mixup_alpha", ranges["mixup_alpha"]),
    ]
    return Space(choices, name="recipe")


@register_space("recipe")
def create_recipe_space(preset: str = "quick", ema: Sequence[bool] = (True, False)) -> Space:
    """The "recipe" space (a pure `Space`: no network, no cost)."""
    return recipe_space(preset, ema=ema)


class FBNetRecipeSpace:
    """FBNetV3's joint architecture-recipe space as one SearchSpace ("fbnet-recipe"): each point is a complete
    architecture-recipe pair, so the ledger, `archsearch export` and reports see what NARS searched. `build` and
    `cost` use the architecture part (the recipe changes neither the network's shape nor its cost; the trainer
    applies dropout / drop-path / EMA from the recipe); `recipe_of` gives the `Recipe` a point describes."""

    def __init__(self, architecture: FBNetSpace, recipes: Space, *, name: str = "fbnet-recipe") -> None:
        self.architecture = architecture
        self.recipes = recipes
        self.name = name
        self.input_shape = architecture.input_shape
        self.num_classes = architecture.num_classes
        self.space = joint_space(architecture.space, recipes, name=name)

    def split(self, arch: Arch) -> tuple[Arch, Arch]:
        arch = arch if isinstance(arch, Arch) else self.space.validate(arch)
        return split_joint(arch, self.architecture.space, self.recipes)

    def join(self, architecture: Arch, recipe: Arch) -> Arch:
        """The joint point of an architecture and a recipe point."""
        return self.space.validate({**architecture.to_dict(), **recipe.to_dict()})

    def build(self, arch: Arch) -> nn.Module:
        return self.architecture.build(self.split(self.space.validate(arch))[0])

    def cost(self, arch: Arch) -> Cost:
        arch = arch if isinstance(arch, Arch) else self.space.validate(arch)
        return self.architecture.cost(arch)  # reads only the architecture's choices

    def recipe_of(self, arch: Arch, base: Recipe | None = None) -> Recipe:
        return recipe_from_arch(self.split(arch)[1], base)

    def default_arch(self) -> Arch:
        """The architecture's default (middle of every range) with the middle of every recipe range."""
        return self.join(self.architecture.default_arch(), self.recipes.from_unit([0.5] * len(self.recipes)))


@register_space("fbnet-recipe")
def create_fbnet_recipe_space(preset: str = "quick", *, num_classes: int | None = None,
                              input_size: int | Sequence[int] | None = None, in_channels: int | None = None,
                              ema: Sequence[bool] = (True, False)) -> FBNetRecipeSpace:
    """FBNetV3's joint space (Table 3: architecture rows x training-recipe rows) for one preset."""
    architecture = create_fbnet_space(preset, num_classes=num_classes, input_size=input_size,
                                      in_channels=in_channels)
    return FBNetRecipeSpace(architecture, recipe_space(preset, ema=ema))


def joint_space(architecture: Space, recipe: Space, *, name: str | None = None) -> Space:
    """FBNetV3's joint architecture x recipe space (choice names must not collide)."""
    clash = set(architecture.choices) & set(recipe.choices)
    if clash:
        raise ConfigError(f"joint space: choice names {sorted(clash)} appear in both the architecture and recipe")
    return product(architecture, recipe, name=name or f"{architecture.name}+recipe")


def split_joint(arch: Arch, architecture: Space, recipe: Space) -> tuple[Arch, Arch]:
    """(architecture part, recipe part) of a joint arch."""
    return architecture.project(arch), recipe.project(arch)


def recipe_from_arch(arch: Mapping[str, object], base: Recipe | None = None) -> Recipe:
    """The `Recipe` a (joint or recipe-only) arch describes, on top of `base` for the fields not searched.

    SGD's learning rate is the searched one x4 (FBNetV3 Table 3); SGD keeps the base momentum (0.9).
    """
    base = base or Recipe()
    changes: dict[str, object] = {}
    for name in RECIPE_FIELDS:
        if name in arch:
            changes[name] = arch[name]
    if changes.get("optimizer") == "sgd" and "lr" in changes:
        changes["lr"] = float(changes["lr"]) * SGD_LR_FACTOR  # type: ignore[arg-type]
    for name in ("lr", "weight_decay", "dropout", "drop_path", "mixup_alpha"):
        if name in changes:
            changes[name] = float(changes[name])  # type: ignore[arg-type]
    if "ema" in changes:
        changes["ema"] = bool(changes["ema"])
    return base.replace(**changes)


__all__ = ["FBNet", "FBNetConfig", "FBNetRecipeSpace", "FBNetSpace", "PAPER", "QUICK", "RECIPE_FIELDS", "SMOKE",
           "StageSpec", "WIDTH_DIVISOR", "create_fbnet_recipe_space", "create_fbnet_space", "fbnet_block",
           "joint_space", "recipe_from_arch", "recipe_space", "split_joint"]
