"""Datasets, photos and text for the course, with the same result whatever the source.

Resolution order for every dataset, announced in one printed line: files already in the data
directory (COURSE_DATA_DIR) -> a bounded download (unless COURSE_OFFLINE=1) -> a generated
stand-in of the same shapes, dtypes and classes that says plainly it is not the real data.
"""

from __future__ import annotations

from .images import (
    CIFAR10_CLASSES,
    CIFAR10_MEAN,
    CIFAR10_STD,
    DATASET_NAMES,
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    PHOTO_NAMES,
    load_cifar10,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    load_photo,
    where_from,
)
from .sets import ImageSet, TextSet, normalize
from .sources import DataError
from .text import SENTIMENT_CORPORA, load_sentiment, load_shakespeare

__all__ = ["CIFAR10_CLASSES", "CIFAR10_MEAN", "CIFAR10_STD", "DATASET_NAMES", "DataError",
           "FASHION_MNIST_CLASSES", "ImageSet", "MNIST_CLASSES", "PHOTO_NAMES",
           "SENTIMENT_CORPORA", "TextSet", "load_cifar10", "load_dataset", "load_fashion_mnist",
           "load_mnist", "load_photo", "load_sentiment", "load_shakespeare", "normalize",
           "where_from"]  # fmt: skip
