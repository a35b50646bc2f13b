"""Datasets to in-memory tensors, deterministic splits, batched augmentation (no torchvision; fast on 2 CPU cores)."""

from archsearch.data.augment import Augmentation, augment_batch, random_crop, random_flip
from archsearch.data.batches import Batches
from archsearch.data.datasets import Dataset, dataset_names, from_arrays, load_dataset
from archsearch.data.splits import Splits, TensorPair, make_splits

__all__ = ["Augmentation", "Batches", "Dataset", "Splits", "TensorPair", "augment_batch", "dataset_names",
           "from_arrays", "load_dataset", "make_splits", "random_crop", "random_flip"]
