"""Shared test settings: one intra-op thread (2-core CI machines run the suite), headless plots."""

import os

import matplotlib
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)
os.environ.setdefault("ARCHSEARCH_PROGRESS", "0")  # no progress bars in test logs
