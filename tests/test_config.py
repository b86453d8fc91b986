"""Run configuration: every bad value gets a ConfigError naming the value and the fix; limits; JSON round trip."""

import math

import pytest

from dlcore.config import TASKS, ConfigError, Limits, RunConfig, parse_hidden
from dlcore.train import DeviceError, Trainer, available_devices, resolve_device

pytestmark = pytest.mark.usefixtures("one_thread")


def _says_how_to_fix(message: str) -> bool:
    return any(word in message for word in ("use ", "choose", "give ", "e.g.", "enter "))


@pytest.mark.parametrize("text,expected", [
    ("100,25", (100, 25)), (" 100, 25 ", (100, 25)), ("[64, 32]", (64, 32)), ("8;4", (8, 4)), ("7", (7,)),
    ([3, 2], (3, 2)), ((5,), (5,)), ("", ()), ("  ", ()),
])
def test_parse_hidden_accepts(text, expected):
    assert parse_hidden(text) == expected


@pytest.mark.parametrize("text,fragment", [
    ("10,,5", '"10,,5": empty size at position 2'),
    ("abc", "'abc' at position 1 is not a whole number"),
    ("64,x", "'x' at position 2"),
    ("1.5", "'1.5'"),
    ("-3", "size -3 at position 1 must be at least 1"),
    ("0", "size 0 at position 1 must be at least 1"),
    ("99999", "size 99999 at position 1 is over the limit of 4096"),
    (",".join(["4"] * 17), "17 layers is over the limit of 16"),
])
def test_parse_hidden_errors_name_the_value(text, fragment):
    with pytest.raises(ConfigError) as e:
        parse_hidden(text)
    assert fragment in str(e.value)
    assert _says_how_to_fix(str(e.value)) or "fewer" in str(e.value)


def test_parse_hidden_follows_the_limits():
    assert parse_hidden("5000", Limits(max_layer=8192)) == (5000,)
    with pytest.raises(ConfigError, match="limit of 10 units"):
        parse_hidden("11", Limits(max_layer=10))


def test_an_empty_hidden_spec_is_refused_for_an_mlp():
    with pytest.raises(ConfigError, match='hidden layers are empty; give at least one size such as "100,25"'):
        RunConfig(model="mlp", hidden=parse_hidden("")).validate()
    RunConfig(model="linear", hidden=parse_hidden("")).validate()  # a linear model has no hidden layers anyway


@pytest.mark.parametrize("changes,fragment", [
    ({"lr": 0.0}, "learning rate 0.0 is out of range"),
    ({"lr": -1e-3}, "learning rate -0.001 is out of range"),
    ({"lr": math.nan}, "learning rate nan is not a finite number"),
    ({"lr": math.inf}, "learning rate inf is not a finite number"),
    ({"lr": "0.1"}, "learning rate '0.1' is not a finite number"),
    ({"lr": True}, "learning rate True"),
    ({"epochs": 0}, "epochs 0 is out of range"),
    ({"epochs": 2.5}, "epochs 2.5 is not a whole number"),
    ({"epochs": 10**6}, "epochs 1000000 is out of range"),
    ({"batch_size": -1}, "batch size -1 is out of range"),
    ({"points": 5}, "points per class 5"),
    ({"classes": 1}, "classes 1"),
    ({"classes": 11}, "classes 11"),
    ({"noise": 3.0}, "noise 3.0"),
    ({"train_fraction": 1.0}, "train fraction 1.0"),
    ({"momentum": 1.5}, "momentum 1.5"),
    ({"weight_decay": -1e-5}, "weight decay -1e-05"),
    ({"dropout": 0.95}, "dropout 0.95"),
    ({"l1": -1.0}, "L1 penalty -1.0"),
    ({"l2": math.nan}, "L2 penalty nan"),
    ({"seed": -1}, "seed -1"),
    ({"time_budget": -5.0}, "time budget -5.0"),
    ({"hidden": (100, 0)}, "size 0 at position 2"),
    ({"hidden": (100, 99999)}, "size 99999 at position 2 is over the limit"),
    ({"hidden": ("a",)}, "hidden layers ('a',) must be a list of whole numbers"),
    ({"dataset": "cifar"}, "dataset 'cifar' is unknown"),
    ({"model": "resnet"}, "model 'resnet' is unknown"),
    ({"activation": "swish"}, "activation 'swish' is unknown"),
    ({"optimizer": "adamx"}, "optimizer 'adamx' is unknown"),
    ({"optimizer": "Adam"}, "optimizer 'Adam' is unknown"),
    ({"scheduler": "linear"}, "scheduler 'linear' is unknown"),
    ({"loss": "huber"}, "loss for classification 'huber' is unknown"),
    ({"dataset": "boston", "loss": "cross_entropy"}, "loss for regression 'cross_entropy' is unknown"),
    ({"mnist_source": "web"}, "mnist source 'web' is unknown"),
    ({"device": "tpu"}, "device 'tpu' is unknown"),
    ({"dataset": "spiral", "model": "cnn"}, "model 'cnn' is for 28x28 images; use 'linear' or 'mlp' for spiral"),
    ({"dataset": "boston", "model": "ffn"}, "model 'ffn' is for 28x28 images; use 'linear' or 'mlp' for boston"),
    ({"dataset": "boston", "drop_b": "false"}, "drop b 'false' is not true or false"),  # a non-empty string
    ({"batch_norm": 1}, "batch norm 1 is not true or false"),
    ({"nesterov": "yes"}, "nesterov 'yes' is not true or false"),
])
def test_bad_values_raise_config_error_naming_the_value(changes, fragment):
    with pytest.raises(ConfigError) as e:
        RunConfig(**changes).validate()
    assert fragment in str(e.value)
    assert _says_how_to_fix(str(e.value)), str(e.value)


def test_defaults_and_every_dataset_validate():
    assert RunConfig().validate() == RunConfig()
    for name in TASKS:  # csv's task follows its table (tests/test_tabular.py)
        cfg = RunConfig(dataset=name, model="cnn" if name in ("mnist", "fashion") else "mlp")
        assert cfg.validate() is cfg
        assert cfg.task == TASKS[name]
        assert cfg.loss_name == ("cross_entropy" if cfg.task == "classification" else "mse")
    assert RunConfig(dataset="boston", loss="huber").loss_name == "huber"


def test_batch_size_larger_than_the_data_is_refused():
    with pytest.raises(ConfigError, match="batch size 500 is larger than the 160 training samples; use at most 160"):
        Trainer(RunConfig(dataset="spiral", points=100, classes=2, batch_size=500))
    assert Trainer(RunConfig(dataset="spiral", points=100, classes=2, batch_size=160)).batch_size == 160


def test_an_unavailable_device_is_a_clear_error():
    have = available_devices()
    assert have[-1] == "cpu"
    assert resolve_device("auto").type == have[0]
    assert resolve_device("cpu").type == "cpu"
    missing = [d for d in ("cuda", "mps") if d not in have]
    if not missing:
        pytest.skip("this machine has both CUDA and MPS")
    for name in missing:
        with pytest.raises(DeviceError, match=f"device '{name}' is not available on this machine.*use 'auto' or 'cpu'"):
            resolve_device(name)
        with pytest.raises(ConfigError, match=f"'{name}' is not available"):  # DeviceError is a ConfigError
            Trainer(RunConfig(dataset="spiral", points=50, device=name))


def test_limits_from_the_environment(monkeypatch):
    assert Limits.from_env() == Limits()
    monkeypatch.setenv("DLCORE_MAX_EPOCHS", "5")
    monkeypatch.setenv("DLCORE_MAX_SECONDS", "2.5")
    lim = Limits.from_env()
    assert lim.max_epochs == 5 and isinstance(lim.max_epochs, int) and lim.max_seconds == 2.5
    with pytest.raises(ConfigError, match="use 1 to 5 epochs"):
        RunConfig(epochs=10).validate()
    for bad in ("lots", "0", "-3", "nan", "inf"):
        monkeypatch.setenv("DLCORE_MAX_EPOCHS", bad)
        with pytest.raises(ConfigError, match=f"DLCORE_MAX_EPOCHS={bad!r} is not a positive number"):
            Limits.from_env()


def test_explicit_limits_win():
    RunConfig(epochs=50_000).validate(Limits(max_epochs=100_000))
    with pytest.raises(ConfigError, match="epochs 50000"):
        RunConfig(epochs=50_000).validate()


def test_json_round_trip_and_unknown_fields():
    cfg = RunConfig(dataset="boston", model="mlp", hidden=(64, 32), drop_b=True, lr=3e-4, scheduler="cosine", l2=1e-3)
    back = RunConfig.from_json(cfg.to_json())
    assert back == cfg and back.hidden == (64, 32) and isinstance(back.hidden, tuple)
    with pytest.raises(ConfigError, match=r"unknown config fields \['colour'\]"):
        RunConfig.from_dict({"dataset": "spiral", "colour": "red"})
    assert cfg.replace(lr=1.0).lr == 1.0 and cfg.lr == 3e-4  # frozen: replace makes a copy
    with pytest.raises(AttributeError):
        cfg.lr = 1.0
