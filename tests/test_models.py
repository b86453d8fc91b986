"""Every activation and architecture builds, runs forward and backward, and counts its parameters without allocating."""

import pytest
import torch
from torch import nn

from dlcore.config import ConfigError, Limits, RunConfig
from dlcore.data import load_data
from dlcore.models import (
    ACTIVATIONS,
    ARCHITECTURES,
    IMAGE_MODELS,
    build_activation,
    build_model,
    count_params,
    estimate_params,
)
from dlcore.train import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")

IMAGE = (1, 28, 28)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_activation_builds_runs_and_backpropagates(name):
    torch.manual_seed(0)
    model = build_model(RunConfig(model="mlp", hidden=(8, 4), activation=name), (2,), 3)
    acts = [m for m in model if not isinstance(m, nn.Linear)]
    assert len(acts) == 2 and all(type(a) is type(build_activation(name)) for a in acts)
    assert isinstance(model[-1], nn.Linear)  # the output layer is linear: logits / values, no activation after it
    x = torch.randn(5, 2, requires_grad=True)
    out = model(x)
    assert out.shape == (5, 3) and torch.isfinite(out).all()
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_identity_activation_makes_the_mlp_affine():
    torch.manual_seed(0)
    f = build_model(RunConfig(model="mlp", hidden=(16, 16), activation="identity"), (2,), 3)
    g = build_model(RunConfig(model="mlp", hidden=(16, 16), activation="relu"), (2,), 3)
    x, zero = torch.randn(10, 2), torch.zeros(1, 2)
    with torch.no_grad():
        assert torch.allclose(f(3 * x) - f(zero), 3 * (f(x) - f(zero)), atol=1e-5)  # stacked layers stay linear
        assert not torch.allclose(g(3 * x) - g(zero), 3 * (g(x) - g(zero)), atol=1e-3)


def _cfg_for(arch: str, **kw) -> tuple[RunConfig, tuple[int, ...]]:
    if arch in IMAGE_MODELS:
        return RunConfig(dataset="mnist", model=arch, **kw), IMAGE
    return RunConfig(dataset="spiral", model=arch, hidden=(10, 5), **kw), (2,)


@pytest.mark.parametrize("n_out", [1, 10])
@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_each_architecture_builds_runs_and_backpropagates(name, n_out):
    cfg, shape = _cfg_for(name)
    torch.manual_seed(0)
    model = build_model(cfg, shape, n_out)
    x = torch.randn(4, *shape)
    out = model(x)
    assert out.shape == (4, n_out)
    out.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert count_params(model) == estimate_params(cfg, shape, n_out) > 0


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_each_architecture_takes_the_embedded_mnist_images(name):
    data = load_data(RunConfig(dataset="mnist", mnist_source="embedded"))
    model = build_model(RunConfig(dataset="mnist", model=name, hidden=(32,)), data.input_shape, data.num_outputs)
    assert model(data.x_test[:3]).shape == (3, 10)


@pytest.mark.parametrize("hidden,expected", [((100, 25), 2 * 100 + 100 + 100 * 25 + 25 + 25 * 3 + 3), ((100,), 603),
                                             ((4, 4, 4), 12 + 20 + 20 + 15)])
def test_mlp_parameter_count(hidden, expected):
    cfg = RunConfig(model="mlp", hidden=hidden)
    assert estimate_params(cfg, (2,), 3) == expected == count_params(build_model(cfg, (2,), 3))


def test_estimate_params_allocates_nothing():
    big = RunConfig(model="mlp", hidden=(4096,) * 16)  # about 250 M parameters: 1 GB if it were allocated
    assert estimate_params(big, (2,), 3) == 2 * 4096 + 4096 + 15 * (4096 * 4096 + 4096) + 4096 * 3 + 3


def test_linear_has_no_hidden_layer():
    model = build_model(RunConfig(dataset="boston", model="linear", hidden=(64,)), (13,), 1)
    assert [type(m) for m in model] == [nn.Linear] and count_params(model) == 14
    flat = build_model(RunConfig(dataset="mnist", model="linear"), IMAGE, 10)
    assert count_params(flat) == 7850


def test_dropout_and_batch_norm_options():
    plain = build_model(RunConfig(hidden=(8, 8)), (2,), 3)
    extra = build_model(RunConfig(hidden=(8, 8), dropout=0.3, batch_norm=True), (2,), 3)
    assert not any(isinstance(m, (nn.Dropout, nn.BatchNorm1d)) for m in plain)
    assert [m.p for m in extra if isinstance(m, nn.Dropout)] == [0.3, 0.3]
    assert [m.num_features for m in extra if isinstance(m, nn.BatchNorm1d)] == [8, 8]


def test_ffn_is_the_seed_network():
    model = build_model(RunConfig(dataset="mnist", model="ffn"), IMAGE, 10)
    sizes = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
    assert sizes == [(784, 256), (256, 128), (128, 64), (64, 10)]
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.2, 0.2, 0.2]
    assert count_params(model) == 242_762


def test_cnn_is_a_small_lenet():
    model = build_model(RunConfig(dataset="mnist", model="cnn"), IMAGE, 10)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 16), (16, 32)]
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 2
    assert count_params(model) == 215_370


@pytest.mark.parametrize("dataset", ["spiral", "boston"])
@pytest.mark.parametrize("arch", ["cnn", "ffn"])
def test_image_models_refuse_tabular_datasets(arch, dataset):
    with pytest.raises(ConfigError, match=f"model '{arch}' is for 28x28 images; use 'linear' or 'mlp' for {dataset}"):
        Trainer(RunConfig(dataset=dataset, model=arch, points=50))


def test_cnn_refuses_flat_input_shapes():
    with pytest.raises(ConfigError, match=r"model 'cnn' needs image input, got input shape \(13,\)"):
        build_model(RunConfig(dataset="mnist", model="cnn"), (13,), 1)


def test_unknown_names_are_refused():
    with pytest.raises(ConfigError, match="activation 'swish' is unknown"):
        build_activation("swish")
    with pytest.raises(ConfigError, match="model 'resnet' is unknown"):
        build_model(RunConfig(model="resnet"), (2,), 3)


def test_parameter_cap_is_enforced_before_allocating():
    with pytest.raises(ConfigError, match=r"16,805,891 parameters, over the limit of 1,000,000.*DLCORE_MAX_PARAMS"):
        build_model(RunConfig(hidden=(4096, 4096)), (2,), 3, Limits(max_params=1_000_000))
    assert count_params(build_model(RunConfig(hidden=(100,)), (2,), 3, Limits(max_params=603))) == 603


def test_cnn_patch_embeds_4x4_patches_and_works_on_7x7_maps():
    model = build_model(RunConfig(dataset="fashion", model="cnn_patch"), IMAGE, 10)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [(1, 32, (4, 4), (4, 4)),
                                                                                          (32, 64, (3, 3), (1, 1))]
    assert [m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm2d)] == [32, 64]
    assert model[:-2](torch.zeros(2, *IMAGE)).shape == (2, 64, 7, 7)  # every layer after the first sees 7x7
    assert count_params(model) == 50_506


def test_cnn_patch_is_offered_for_images_only():
    assert "cnn_patch" in IMAGE_MODELS and "cnn_patch" in ARCHITECTURES
    with pytest.raises(ConfigError, match="model 'cnn_patch' is for 28x28 images; use 'linear' or 'mlp' for spiral"):
        Trainer(RunConfig(dataset="spiral", model="cnn_patch", points=50))
    with pytest.raises(ConfigError, match=r"model 'cnn_patch' needs image input, got input shape \(13,\)"):
        build_model(RunConfig(dataset="mnist", model="cnn_patch"), (13,), 1)
    with pytest.raises(ConfigError, match="model 'cnn_patch' needs images of at least 4x4 pixels, got 3x8"):
        build_model(RunConfig(dataset="mnist", model="cnn_patch"), (1, 3, 8), 10)


def test_the_fashion_preset_trains_cnn_patch_and_learns():
    """The Digits tab's defaults for Fashion-MNIST: the patch CNN; a few hundred steps on the embedded digits already
    lift it far above chance (the Fashion-MNIST time to 90 % is bench/bench_fashion.py's)."""
    from dlcore.presets import preset

    cfg = preset("fashion").validate()
    assert cfg.model == "cnn_patch" and cfg.scheduler == "cosine"
    run = cfg.replace(dataset="mnist", mnist_source="embedded", epochs=1, seed=0, device="cpu")
    *_, last = Trainer(run).run()
    assert last.status == "finished" and last.metrics["test_accuracy"] > 0.85  # measured 0.918-0.923, seeds 0-2


def test_the_pytorch_script_builds_cnn_patch_as_dlcore_does():
    """The "Copy as PyTorch code" script's nn.Sequential is dlcore's model: same names and shapes, and with dlcore's
    weights the same outputs."""
    from dlcore.codegen import to_pytorch_code

    cfg = RunConfig(dataset="fashion", model="cnn_patch", batch_size=64, epochs=1).validate()
    code = to_pytorch_code(cfg)
    start = code.index("model = nn.Sequential(") + len("model = ")
    expr = code[start:code.index("\n", code.index("nn.Linear(", start))].rstrip().rstrip(",")
    theirs = eval(expr, {"nn": nn})  # noqa: S307  our own generated expression
    torch.manual_seed(0)
    ours = build_model(cfg, IMAGE, 10)
    theirs.load_state_dict(ours.state_dict())  # strict: every name and shape must match
    x = torch.randn(5, *IMAGE)
    with torch.no_grad():
        assert torch.allclose(theirs.eval()(x), ours.eval()(x))
