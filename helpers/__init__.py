"""Shared plumbing for the course notebooks: settings, devices, data, training, plots, checks.

Everything public is listed in `_EXPORTS` below (name -> submodule). Submodules are imported
on first use, so `import helpers` stays quick and a notebook pays only for what it uses.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # settings: the environment switches
    "Settings": "settings",
    "SettingsError": "settings",
    "get_settings": "settings",
    "reload_settings": "settings",
    "pick": "settings",
    # devices: device choice, seeding, determinism, banner
    "best_device": "devices",
    "bf16_pays": "devices",
    "seed_everything": "devices",
    "set_deterministic": "devices",
    "device_name": "devices",
    "environment_report": "devices",
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
    "recorded_label": "results",
    # plotting: every figure with a title and axis labels
    "show_images": "plotting",
    "plot_history": "plotting",
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
    # conv_arithmetic: output sizes and receptive fields (used by notebook 03 and a widget)
    "conv_output_size": "conv_arithmetic",
    "receptive_field": "conv_arithmetic",
    # widgets: interactive explorers with a static fallback
    "kernel_editor": "widgets",
    "conv_explorer": "widgets",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'helpers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
