"""Training: recipe validation, the exact step (decay, clipping, smoothing, mixup, KD, EMA), schedules, NaN guard,
exact resume, and `run_eval_task` on a tiny test-only space."""

from __future__ import annotations

import copy
import io
import math
import pickle

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.cost.constraints import Cost
from archsearch.data import Batches, load_dataset, make_splits
from archsearch.errors import CheckpointError, ConfigError, DivergedError, UsageError
from archsearch.ops.drop_path import DropPath
from archsearch.ops.init import init_weights
from archsearch.space import Categorical, Space
from archsearch.spaces import SPACES, register_space
from archsearch.tasks import run_eval_task
from archsearch.train import (EvalTask, Recipe, Trainer, evaluate, lr_factor, mixup_batch, mixup_cross_entropy,
                              recalibrate_bn, train)
from archsearch.train._model_setup import parameter_groups, set_drop_path, set_dropout


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def digits():
    return make_splits(load_dataset("digits"), val_size=200, small_val_size=100, seed=0)


def small_cnn(seed: int = 0, width: int = 16) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.Conv2d(width, 2 * width, 3, padding=1, stride=2), nn.BatchNorm2d(2 * width), nn.ReLU(),
                         nn.Flatten(), nn.Linear(2 * width * 16, 10))


def linear_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))


def batch(n: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)


# -- recipe -----------------------------------------------------------------------------------------------------------
def test_recipe_round_trip_and_coercion():
    recipe = Recipe(optimizer="rmsprop", lr=0.2, ema=True, dropout=0.1, adamw_betas=(0.8, 0.99))
    assert Recipe.from_dict(recipe.to_dict()) == recipe
    assert Recipe.from_dict({"lr": "0.5", "ema": "true", "batch_size": 64.0, "grad_clip": None}) == Recipe(
        lr=0.5, ema=True, batch_size=64)


@pytest.mark.parametrize("values, error, match", [
    ({"lr": 0.1, "momentun": 0.9}, UsageError, r"unknown recipe field 'momentun'; did you mean 'momentum'\?"),
    ({"foo": 1, "bar": 2}, ConfigError, r"unknown recipe fields \['bar', 'foo'\] \(allowed: .*lr"),
    ({"optimizer": "adam"}, UsageError, r"unknown optimizer 'adam'.*allowed: adamw, nesterov, rmsprop, sgd"),
    ({"schedule": "linear"}, UsageError, r"unknown lr schedule 'linear'"),
    ({"lr": -1}, ConfigError, r"recipe lr=-1.0 is invalid: must be a positive number"),
    ({"label_smoothing": 1.0}, ConfigError, r"label_smoothing=1.0 is invalid"),
    ({"batch_size": 1.5}, ConfigError, r"batch_size=1.5 is invalid: expected int"),
    ({"ema": "maybe"}, ConfigError, r"ema='maybe' is invalid: expected bool"),
])
def test_recipe_rejects_bad_values(values, error, match):
    with pytest.raises(error, match=match):
        Recipe.from_dict(values)


def test_optimizers_follow_the_recipe():
    model = small_cnn()
    opt = Trainer(model, Recipe(optimizer="nesterov"), steps_per_epoch=1, epochs=1).optimizer
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["nesterov"] and opt.defaults["momentum"] == 0.9
    opt = Trainer(model, Recipe(optimizer="rmsprop"), steps_per_epoch=1, epochs=1).optimizer
    assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["alpha"] == 0.9
    assert opt.defaults["eps"] == 0.0316 and opt.defaults["momentum"] == 0.9
    opt = Trainer(model, Recipe(optimizer="adamw", weight_decay=0.05), steps_per_epoch=1, epochs=1).optimizer
    assert isinstance(opt, torch.optim.AdamW) and [g["weight_decay"] for g in opt.param_groups] == [0.05, 0.0]


# -- schedules --------------------------------------------------------------------------------------------------------
def test_warmup_then_cosine_values():
    recipe = Recipe(lr=0.1, warmup_epochs=1, schedule="cosine")
    lr = lambda step: 0.1 * lr_factor(recipe, step, steps_per_epoch=10, epochs=5)  # noqa: E731
    assert lr(0) == pytest.approx(0.01) and lr(4) == pytest.approx(0.05) and lr(9) == pytest.approx(0.1)
    assert lr(10) == pytest.approx(0.1)  # cosine starts at the peak after the warm-up
    assert lr(30) == pytest.approx(0.05)  # halfway through the 40 cosine steps
    assert lr(20) == pytest.approx(0.05 * (1 + math.cos(math.pi / 4)))
    assert lr(49) == pytest.approx(0.05 * (1 + math.cos(math.pi * 39 / 40)))
    floor = Recipe(lr=0.1, lr_min=0.01)
    assert 0.1 * lr_factor(floor, 50, 10, 5) == pytest.approx(0.01)


def test_exponential_step_and_constant_schedules():
    exp = Recipe(lr=1.0, schedule="exponential", warmup_epochs=2)
    assert [lr_factor(exp, s, 4, 10) for s in (0, 7, 8, 11, 12, 20)] == pytest.approx(
        [0.125, 1.0, 1.0, 1.0, 0.963, 0.963 ** 3])
    step = Recipe(lr=1.0, schedule="step", step_epochs=2, step_gamma=0.5)
    assert [lr_factor(step, s, 3, 10) for s in (0, 5, 6, 12, 18)] == pytest.approx([1, 1, 0.5, 0.25, 0.125])
    assert lr_factor(Recipe(schedule="constant"), 123, 10, 5) == 1.0


def test_trainer_applies_the_schedule_per_step():
    model = linear_model()
    trainer = Trainer(model, Recipe(lr=0.1, warmup_epochs=1, momentum=0.0), steps_per_epoch=4, epochs=3)
    seen = []
    for i in range(6):
        trainer.step(*batch(seed=i))
        seen.append(trainer.optimizer.param_groups[0]["lr"])
    expected = [0.1 * lr_factor(trainer.recipe, s, 4, 3) for s in range(6)]
    assert seen == pytest.approx(expected) and seen[:4] == pytest.approx([0.025, 0.05, 0.075, 0.1])


# -- the step ---------------------------------------------------------------------------------------------------------
class _ZeroOutput(nn.Module):
    """Logits always 0: every gradient of the loss is exactly 0, so only weight decay moves parameters."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x):
        return self.body(x) * 0.0


def test_weight_decay_skips_batchnorm_and_bias():
    model = _ZeroOutput(small_cnn())
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainer = Trainer(model, Recipe(lr=0.5, momentum=0.0, weight_decay=0.1, schedule="constant"),
                      steps_per_epoch=1, epochs=1)
    trainer.step(*batch())
    for name, p in model.named_parameters():
        if p.ndim > 1:  # conv / linear weights: w <- w - lr * wd * w
            torch.testing.assert_close(p.detach(), before[name] * (1 - 0.5 * 0.1))
        else:  # BN weight / bias, biases: untouched
            assert torch.equal(p.detach(), before[name]), name
    groups = parameter_groups(small_cnn(), 0.1)
    assert [len(g["params"]) for g in groups] == [3, 7] and [g["weight_decay"] for g in groups] == [0.1, 0.0]


def test_decay_norm_and_bias_decays_every_parameter_as_the_released_search_code():
    model = _ZeroOutput(small_cnn())
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainer = Trainer(model, Recipe(lr=0.5, momentum=0.0, weight_decay=0.1, schedule="constant",
                                    decay_norm_and_bias=True), steps_per_epoch=1, epochs=1)
    trainer.step(*batch())
    for name, p in model.named_parameters():  # zero output: the loss gradient is 0, only the decay moves them
        torch.testing.assert_close(p.detach(), before[name] * (1 - 0.5 * 0.1))
    from archsearch.methods import make_config

    for method in ("darts", "fairdarts"):
        assert make_config(method, "paper").weight_recipe(True).decay_norm_and_bias
        final = Recipe.from_dict(make_config(method, "paper").final.recipe)
        assert final.decay_norm_and_bias and final.cutout == 0.5
    assert make_config("proxyless", "paper").weight_recipe("search").decay_norm_and_bias
    assert not Recipe.from_dict(make_config("proxyless", "paper").final.recipe).decay_norm_and_bias


def test_cutout_zeroes_one_square_of_the_asked_side_per_image():
    from archsearch.data.augment import cutout

    x = torch.ones(64, 2, 28, 28)
    out = cutout(x, 0.5, torch.Generator().manual_seed(0))
    zeroed = (out == 0).all(dim=1)  # the same square in every channel
    assert torch.equal((out == 0).any(dim=1), zeroed)
    for image in zeroed:
        rows, cols = image.any(dim=1).nonzero().flatten(), image.any(dim=0).nonzero().flatten()
        assert 1 <= len(rows) <= 14 and 1 <= len(cols) <= 14  # clipped at a border, never larger
        assert int(image.sum()) == len(rows) * len(cols)  # one rectangle
    assert (zeroed.flatten(1).sum(1) == 14 * 14).float().mean() > 0.2  # many lie fully inside
    assert torch.equal(cutout(x, 0.5, torch.Generator().manual_seed(0)), out)


def test_a_recipe_adds_cutout_and_autoaugment_to_the_datas_own_augmentation(digits):
    from archsearch.train.trainer import _augmentation

    own = digits.train.augmentation
    both = _augmentation(digits.train, Recipe(cutout=0.25, autoaugment=True))
    assert (both.crop_padding, both.flip, both.fill) == (own.crop_padding, own.flip, own.fill)
    assert both.cutout == 0.25 and both.autoaugment and both.std == own.std != (1.0,)
    plain = _augmentation(digits.train, Recipe(augment=False, cutout=0.25))
    assert plain.crop_padding == 0 and plain.cutout == 0.25
    assert _augmentation(digits.train, Recipe()) is own


def test_fbnetv3_paper_final_recipe_is_the_papers():
    from archsearch.methods import make_config

    final = make_config("nars", "paper")
    recipe = Recipe.from_dict(final.final.recipe)
    assert final.final.epochs == 400 and recipe.ema and recipe.warmup_epochs == 5
    assert recipe.schedule == "exponential" and recipe.exponential_gamma == 0.9875 and recipe.label_smoothing > 0
    assert recipe.autoaugment
    assert lr_factor(recipe, 10 * 5 + 10 * 3, 10, 400) == pytest.approx(0.9875 ** 3)  # 3 epochs after warm-up
    assert Recipe.from_dict(make_config("nars", "quick").final.recipe).warmup_epochs == 0


def test_gradient_clipping_bounds_the_update():
    model = linear_model()
    before = [p.detach().clone() for p in model.parameters()]
    trainer = Trainer(model, Recipe(lr=1.0, momentum=0.0, weight_decay=0.0, grad_clip=1e-3, schedule="constant"),
                      steps_per_epoch=1, epochs=1)
    trainer.step(*batch())
    delta = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before)])
    assert float(delta.norm()) == pytest.approx(1e-3, rel=1e-4)


def test_label_smoothing_loss_equals_functional():
    model = linear_model()
    x, y = batch()
    expected = F.cross_entropy(model(x), y, label_smoothing=0.1).item()
    trainer = Trainer(model, Recipe(label_smoothing=0.1), steps_per_epoch=1, epochs=1)
    assert trainer.step(x, y) == pytest.approx(expected, abs=1e-6)


def test_mixup_alpha_zero_is_plain_cross_entropy():
    x, y = batch()
    logits = torch.randn(16, 10, generator=torch.Generator().manual_seed(3))
    mixed = mixup_batch(x, y, 0.0, torch.Generator())
    assert mixed.x is x and mixed.lam == 1.0 and torch.equal(mixed.y_b, y)
    assert torch.equal(mixup_cross_entropy(logits, mixed, label_smoothing=0.1),
                       F.cross_entropy(logits, y, label_smoothing=0.1))


def test_mixup_mixes_inputs_and_labels_consistently():
    x, y = batch(32)
    mixed = mixup_batch(x, y, 0.4, torch.Generator().manual_seed(0))
    assert 0.0 < mixed.lam < 1.0
    perm = torch.randperm(32, generator=_generator_after_lambda_draw(0))
    torch.testing.assert_close(mixed.x, mixed.lam * x + (1 - mixed.lam) * x[perm])
    assert torch.equal(mixed.y_b, y[perm])
    logits = torch.randn(32, 10, generator=torch.Generator().manual_seed(1))
    soft = mixed.lam * F.one_hot(y, 10).float() + (1 - mixed.lam) * F.one_hot(y[perm], 10).float()
    torch.testing.assert_close(mixup_cross_entropy(logits, mixed), F.cross_entropy(logits, soft))


def _generator_after_lambda_draw(seed: int) -> torch.Generator:
    g = torch.Generator().manual_seed(seed)
    torch.randint(0, 2**62, (1,), generator=g)
    return g


def test_distillation_loss_is_weighted_kd_plus_ce():
    student, teacher = linear_model(0), linear_model(1)
    x, y = batch()
    with torch.no_grad():
        soft = F.softmax(teacher(x), dim=1)
    logits = student(x)
    kd = -(soft * F.log_softmax(logits, dim=1)).sum(1).mean()
    expected = (0.8 * kd + 0.2 * F.cross_entropy(logits, y)).item()
    trainer = Trainer(student, Recipe(), steps_per_epoch=1, epochs=1, teacher=teacher)
    assert trainer.step(x, y) == pytest.approx(expected, abs=1e-6)


def test_ema_follows_the_formula_and_is_what_is_evaluated():
    model = linear_model()
    trainer = Trainer(model, Recipe(ema=True, ema_decay=0.9, ema_warmup=False, lr=0.5), steps_per_epoch=3, epochs=1)
    trainer.step(*batch(seed=0))
    w1 = model[1].weight.detach().clone()
    trainer.step(*batch(seed=1))
    w2 = model[1].weight.detach().clone()
    ema = trainer.eval_model()
    assert ema is trainer.ema.module and ema is not model
    torch.testing.assert_close(ema[1].weight, 0.9 * w1 + 0.1 * w2)
    assert not torch.equal(ema[1].weight, model[1].weight)
    warm = Trainer(linear_model(), Recipe(ema=True, ema_decay=0.9999), steps_per_epoch=3, epochs=1)
    for i in range(3):
        warm.step(*batch(seed=i))
    assert warm._ema_update.decay == pytest.approx(3 / 12)  # min(0.9999, (1 + 2) / (10 + 2)) at the third update


def test_train_with_ema_evaluates_and_ends_with_the_averaged_weights(digits):
    model = small_cnn()
    history = train(model, digits, Recipe(ema=True, ema_decay=0.99, lr=0.1, batch_size=64), 2,
                    generator=torch.Generator().manual_seed(0))
    val_loss, val_accuracy = evaluate(model, digits.val)
    assert history[-1]["val_loss"] == pytest.approx(val_loss) and history[-1]["val_accuracy"] == val_accuracy


def test_evaluate_builds_no_autograd_graph(digits):
    """Evaluation runs without gradients (no graph held per batch, no requires-grad scalar conversion)."""
    model = small_cnn()
    modes = []
    model.register_forward_hook(lambda module, inputs, output: modes.append(output.requires_grad))
    evaluate(model, digits.val)
    assert modes and not any(modes)
    assert torch.is_grad_enabled()


def test_evaluate_normalises_with_the_bn_statistics_asked_for(digits):
    """running: eval mode; batch: each batch's own statistics, running ones untouched; train: train mode, running
    statistics updated. The model's mode comes back either way."""
    model = small_cnn()
    Trainer(model, Recipe(), device="cpu", steps_per_epoch=1, epochs=1).step(*batch(32))  # running stats != init
    pair = digits.val
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x = pair.x.contiguous(memory_format=torch.channels_last)  # the Trainer made the model channels_last
    model.eval()
    with torch.no_grad():
        assert evaluate(model, pair, batch_size=len(pair))[1] == int((model(x).argmax(1) == pair.y).sum()) / len(pair)
        reference = copy.deepcopy(model)
        for m in reference.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.train()  # normalises with the batch's statistics
        per_batch = int((reference(x).argmax(1) == pair.y).sum()) / len(pair)
    model.train()
    assert evaluate(model, pair, batch_size=len(pair), bn="batch")[1] == per_batch and model.training
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    model.eval()
    evaluate(model, pair, bn="train")
    assert not model.training and not torch.equal(model[1].running_mean, state["1.running_mean"])
    with pytest.raises(UsageError, match="unknown BatchNorm mode 'eval'"):
        evaluate(model, pair, bn="eval")


def test_recalibrated_bn_statistics_are_the_plain_average_over_the_batches():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4, momentum=0.3))
    xs = [batch(8, seed)[0] for seed in range(3)]
    model.eval()
    recalibrate_bn(model, xs)
    means = [model[0](x).mean(dim=(0, 2, 3)) for x in xs]
    assert torch.allclose(model[1].running_mean, torch.stack(means).mean(0), atol=1e-6)
    assert model[1].momentum == 0.3 and not model.training and int(model[1].num_batches_tracked) == 3


def test_init_weights_draws_from_the_generator_alone():
    """"pytorch" is PyTorch's own default init, bit for bit, but drawn from the generator; "he_fout" the
    ProxylessNAS release's. Neither reads nor moves torch's global RNG."""
    def net() -> nn.Module:
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 5))

    torch.manual_seed(3)
    reference = net()
    model = net()
    state = torch.get_rng_state()
    init_weights(model, torch.Generator().manual_seed(3), "pytorch")
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a, b) for a, b in zip(reference.state_dict().values(), model.state_dict().values()))
    init_weights(model, torch.Generator().manual_seed(4), "he_fout")
    assert torch.equal(torch.get_rng_state(), state)
    conv, bn, _, linear = model.requires_grad_(False)
    assert not conv.bias.any() and not linear.bias.any()
    assert torch.equal(bn.weight, torch.ones(8)) and torch.equal(bn.bias, torch.zeros(8))
    assert float(linear.weight.abs().max()) <= 1 / math.sqrt(8) and not torch.equal(conv.weight, reference[0].weight)
    with pytest.raises(UsageError, match="unknown init scheme 'kaiming'"):
        init_weights(model, torch.Generator(), "kaiming")


def test_dropout_and_drop_path_rates_are_set_on_the_model():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.0), DropPath(0.0), nn.Linear(4, 4), nn.Dropout2d(0.5),
                          DropPath(0.0), DropPath(0.0), DropPath(0.0))
    assert set_dropout(model, 0.3) == 2 and model[1].p == 0.3 and model[4].p == 0.3
    assert set_drop_path(model, 0.2) == pytest.approx([0.0, 0.05, 0.1, 0.15])
    Trainer(model, Recipe(dropout=0.25, drop_path=0.4), steps_per_epoch=1, epochs=1)
    assert model[1].p == 0.25 and [model[i].p for i in (2, 5, 6, 7)] == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_channels_last_for_conv_nets_on_cpu(digits):
    model = small_cnn()
    trainer = Trainer(model, Recipe(), device="cpu", steps_per_epoch=1, epochs=1)
    assert trainer.channels_last and model[3].weight.is_contiguous(memory_format=torch.channels_last)
    assert not Trainer(linear_model(), Recipe(), device="cpu", steps_per_epoch=1, epochs=1).channels_last
    assert not Trainer(small_cnn(), Recipe(channels_last=False), steps_per_epoch=1, epochs=1).channels_last
    assert trainer.amp_dtype is None  # AMP only on CUDA


# -- NaN guard --------------------------------------------------------------------------------------------------------
class _NaNAfter(nn.Module):
    def __init__(self, body: nn.Module, after: int) -> None:
        super().__init__()
        self.body, self.after, self.calls = body, after, 0

    def forward(self, x):
        self.calls += 1
        out = self.body(x)
        return out * float("nan") if self.calls > self.after else out


def test_nan_guard_fires_before_the_update():
    model = _NaNAfter(linear_model(), after=0)
    before = [p.detach().clone() for p in model.parameters()]
    trainer = Trainer(model, Recipe(), steps_per_epoch=5, epochs=2)
    with pytest.raises(DivergedError, match=r"loss nan at epoch 1, step 0") as err:
        trainer.step(*batch())
    assert err.value.epoch == 1 and err.value.step == 0
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))


def test_nan_guard_names_the_step_when_checks_are_deferred(digits):
    model = _NaNAfter(linear_model(), after=7)
    trainer = Trainer(model, Recipe(batch_size=64), steps_per_epoch=5, epochs=3)
    trainer._sync_checks = False  # the CUDA path: losses checked in bulk
    batches = Batches(digits.train, 64, shuffle=True, drop_last=True)
    trainer.train_epoch(list(batches)[:5])
    with pytest.raises(DivergedError) as err:
        trainer.train_epoch(list(batches)[:5])
    assert (err.value.epoch, err.value.step) == (2, 7)


def test_huge_learning_rate_diverges_in_train(digits):
    with pytest.raises(DivergedError) as err:
        train(small_cnn(), digits, Recipe(lr=1e6, batch_size=64, schedule="constant"), 3,
              generator=torch.Generator().manual_seed(0))
    assert err.value.epoch >= 1 and err.value.step >= 1


# -- end to end -------------------------------------------------------------------------------------------------------
def test_trainer_reaches_over_90_percent_on_digits(digits):
    model = small_cnn()
    seen = []
    history = train(model, digits, Recipe(lr=0.1, batch_size=64), 10, generator=torch.Generator().manual_seed(0),
                    on_epoch=lambda epoch, metrics: seen.append(epoch))
    assert seen == list(range(1, 11)) and [h["epoch"] for h in history] == seen
    assert set(history[0]) == {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"}
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert evaluate(model, digits.test)[1] > 0.9


def test_resume_equals_an_uninterrupted_run(digits):
    recipe = Recipe(lr=0.1, batch_size=128, mixup_alpha=0.2, ema=True, warmup_epochs=1)

    def fresh():
        generator = torch.Generator().manual_seed(1)
        model = small_cnn(seed=2, width=4)
        trainer = Trainer(model, recipe, steps_per_epoch=8, epochs=3, generator=generator)
        return model, trainer, Batches(digits.train, 128, shuffle=True, augment=True, generator=generator,
                                       drop_last=True)

    model_a, trainer_a, batches_a = fresh()
    for _ in range(3):
        trainer_a.train_epoch(batches_a)

    model_b, trainer_b, batches_b = fresh()
    trainer_b.train_epoch(batches_b)
    buffer = io.BytesIO()
    torch.save(trainer_b.state_dict(), buffer)
    model_c, trainer_c, batches_c = fresh()
    buffer.seek(0)
    trainer_c.load_state_dict(torch.load(buffer, weights_only=True))
    for _ in range(2):
        trainer_c.train_epoch(batches_c)
    for a, c in zip(model_a.state_dict().values(), model_c.state_dict().values()):
        assert torch.equal(a, c)
    for a, c in zip(trainer_a.ema.state_dict().values(), trainer_c.ema.state_dict().values()):
        assert torch.equal(a, c)
    other = Trainer(small_cnn(width=4), recipe, steps_per_epoch=9, epochs=3)
    with pytest.raises(CheckpointError, match="steps_per_epoch=8"):
        other.load_state_dict(trainer_b.state_dict())


# -- run_eval_task ----------------------------------------------------------------------------------------------------
class _TinySpace:
    """A test-only space: a small CNN on 8x8 digits whose first width is the one choice."""

    name = "test-tiny-digits"
    input_shape = (1, 8, 8)
    num_classes = 10

    def __init__(self, scale: int = 1) -> None:
        self.space = Space({"width": Categorical([4, 8])}, name=self.name)
        self.scale = scale

    def build(self, arch):
        return small_cnn(seed=int(torch.randint(0, 1000, ())), width=arch["width"] * self.scale)

    def cost(self, arch):
        model = self.build(arch)
        w = arch["width"] * self.scale
        macs = 64 * 9 * w + 16 * 9 * w * 2 * w + 2 * w * 16 * 10
        return Cost(macs=macs, params=sum(p.numel() for p in model.parameters()))


if "test-tiny-digits" not in SPACES.names():
    register_space("test-tiny-digits")(_TinySpace)


def test_run_eval_task_on_digits():
    task = EvalTask(space="test-tiny-digits", arch={"width": 8}, space_options={"scale": 2},
                    recipe={"lr": 0.1, "batch_size": 64}, epochs=3, data="digits",
                    split={"val_size": 200, "small_val_size": 100}, seed=5, threads=1)
    result = run_eval_task(pickle.loads(pickle.dumps(task)))
    assert not result.diverged and result.error is None and len(result.per_epoch) == 3
    assert result.val_accuracy == result.per_epoch[-1]["val_accuracy"] and result.test_accuracy > 0.7
    assert result.params == sum(p.numel() for p in small_cnn(width=16).parameters()) and result.macs > 0
    assert pickle.loads(pickle.dumps(result)) == result
    again = run_eval_task(task)
    assert [e["train_loss"] for e in again.per_epoch] == [e["train_loss"] for e in result.per_epoch]
    assert torch.get_num_threads() == 1


def test_run_eval_task_reports_divergence_instead_of_raising():
    task = EvalTask(space="test-tiny-digits", arch={"width": 4}, recipe={"lr": 1e6, "schedule": "constant"},
                    epochs=2, data="digits", split={"val_size": 200, "small_val_size": 100})
    result = run_eval_task(task)
    assert result.diverged and "training diverged" in result.error
    assert result.val_accuracy is None and result.test_accuracy is None


def test_run_eval_task_rejects_a_bad_arch():
    task = EvalTask(space="test-tiny-digits", arch={"width": 5}, data="digits",
                    split={"val_size": 200, "small_val_size": 100})
    with pytest.raises(UsageError, match="width"):
        run_eval_task(task)


def test_a_training_that_left_the_ground_is_diverged_though_finite(tmp_path, capsys):
    """lr 1e9 with BatchNorm: losses of 1e9 and more, never NaN in one epoch, accuracy at chance. Each candidate is
    a failed trial named as diverged, and a search where all of them diverged is an error, with no result."""
    from archsearch.cli import main

    code = main(["run", "random", "--preset", "smoke", "--data", "digits", "--set", "recipe={lr: 1e9}",
                 "--runs-dir", str(tmp_path), "--name", "d", "--final-epochs", "0"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "none of its 6 candidates trained" in err and "training diverged" in err
    assert "lower the recipe's lr" in err and not (tmp_path / "d" / "result.json").exists()
    assert "none of its 6 candidates trained" in (tmp_path / "d" / "failed.json").read_text()  # failed for good


@pytest.mark.integration
def test_a_diverged_run_is_an_error_whose_folder_says_it_failed(tmp_path, capsys):
    """DARTS at lr 1e12: the first step is NaN. The run is an error (one line, nonzero exit), and its folder says
    how it ended (``failed.json``, `ls` status "failed"), so it is not mistaken for an interrupted run: `resume`
    refuses it with the reason instead of diverging again."""
    import json

    from archsearch.cli import main
    from archsearch.report import list_runs

    code = main(["run", "darts", "--preset", "smoke", "--data", "digits", "--set", "lr=1e12",
                 "--runs-dir", str(tmp_path), "--name", "d"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "training diverged" in err[0]
    failure = json.loads((tmp_path / "d" / "failed.json").read_text())
    assert failure["kind"] == "DivergedError" and "training diverged" in failure["error"]
    assert "failed: training diverged" in (tmp_path / "d" / "log.txt").read_text()
    assert [r.status() for r in list_runs(tmp_path)] == ["failed"]
    assert main(["resume", "d", "--runs-dir", str(tmp_path)]) == 2
    assert "run 'd' failed (training diverged" in capsys.readouterr().err
