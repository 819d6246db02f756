"""Shared plumbing for the course notebooks: settings, devices, data, training, plots, checks.

Everything public is listed in `_EXPORTS` below (name -> submodule). Submodules are imported
on first use, so `import helpers` stays quick and a notebook pays only for what it uses. The
`TYPE_CHECKING` block names the same objects for IDEs and mypy, which then see their real
signatures and types; tests/test_public_api.py keeps the two lists, CONTRIBUTING's API list and
the modules in agreement.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # settings: the environment switches
    "Settings": "settings",
    "SettingsError": "settings",
    "get_settings": "settings",
    "pick": "settings",
    # devices: device choice, seeding, determinism, banner
    "best_device": "devices",
    "bf16_pays": "devices",
    "seed_everything": "devices",
    "set_deterministic": "devices",
    "device_name": "devices",
    "banner": "devices",
    "print_banner": "devices",
    # checks: self-checks with plain-language messages
    "check_close": "checks",
    "check_shape": "checks",
    "check_equal": "checks",
    "check_true": "checks",
    "verdict": "checks",
    # checkpoints: atomic save, safe load
    "CheckpointError": "checkpoints",
    "save_checkpoint": "checkpoints",
    "load_checkpoint": "checkpoints",
    "load_state_dict_checked": "checkpoints",
    # loaders: a batch loader that keeps a small image set on the device
    "DeviceLoader": "loaders",
    # distributed: fit under torchrun (DistributedDataParallel); scripts guard prints with it
    "is_main": "distributed",
    # training: fit / evaluate / predict with history
    "History": "training",
    "TrainingError": "training",
    "fit": "training",
    "evaluate": "training",
    "predict": "training",
    # results: recorded full-scale runs shown beside the live fast run
    "ResultsError": "results",
    "load_recorded_run": "results",
    "load_recorded_runs": "results",
    "recorded_label": "results",
    # plotting: every figure with a title and axis labels
    "show_images": "plotting",
    "plot_histories": "plotting",
    "show_kernels": "plotting",
    "show_feature_maps": "plotting",
    "plot_confusion_matrix": "plotting",
    # data: datasets, photos, text and pretrained weights, whatever the source
    "ImageSet": "data",
    "DataError": "data",
    "load_dataset": "data",
    "where_from": "data",
    "DATASET_NAMES": "data",
    "SENTIMENT_CORPORA": "data",
    "MNIST_CLASSES": "data",
    "FASHION_MNIST_CLASSES": "data",
    "load_cifar10": "data",
    "load_mnist": "data",
    "load_fashion_mnist": "data",
    "load_photo": "data",
    "PHOTO_NAMES": "data",
    "load_shakespeare": "data",
    "load_sentiment": "data",
    "TextSet": "data",
    "CIFAR10_CLASSES": "data",
    "CIFAR10_MEAN": "data",
    "CIFAR10_STD": "data",
    "CifarResNet": "models",
    "cifar_resnet": "models",
    "load_pretrained_cifar_resnet": "models",
    "load_torchvision_model": "models",
    # conv_arithmetic: output sizes and receptive fields (notebooks 02, 03, 08, 09, a widget)
    "conv_output_size": "conv_arithmetic",
    "receptive_field": "conv_arithmetic",
    # widgets: interactive explorers with a static fallback
    "kernel_editor": "widgets",
    "conv_explorer": "widgets",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # never run: the names above, imported, for IDEs and type checkers
    from .checkpoints import (
        CheckpointError,
        load_checkpoint,
        load_state_dict_checked,
        save_checkpoint,
    )
    from .checks import check_close, check_equal, check_shape, check_true, verdict
    from .conv_arithmetic import conv_output_size, receptive_field
    from .data import (
        CIFAR10_CLASSES,
        CIFAR10_MEAN,
        CIFAR10_STD,
        DATASET_NAMES,
        FASHION_MNIST_CLASSES,
        MNIST_CLASSES,
        PHOTO_NAMES,
        SENTIMENT_CORPORA,
        DataError,
        ImageSet,
        TextSet,
        load_cifar10,
        load_dataset,
        load_fashion_mnist,
        load_mnist,
        load_photo,
        load_sentiment,
        load_shakespeare,
        where_from,
    )
    from .devices import (
        banner,
        best_device,
        bf16_pays,
        device_name,
        print_banner,
        seed_everything,
        set_deterministic,
    )
    from .distributed import is_main
    from .loaders import DeviceLoader
    from .models import (
        CifarResNet,
        cifar_resnet,
        load_pretrained_cifar_resnet,
        load_torchvision_model,
    )
    from .plotting import (
        plot_confusion_matrix,
        plot_histories,
        show_feature_maps,
        show_images,
        show_kernels,
    )
    from .results import ResultsError, load_recorded_run, load_recorded_runs, recorded_label
    from .settings import Settings, SettingsError, get_settings, pick
    from .training import History, TrainingError, evaluate, fit, predict
    from .widgets import conv_explorer, kernel_editor


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'helpers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
