"""DataModules for supernas trials: CIFAR-10 (python pickles, image folders, JPEG zips),
scikit-learn digits, MNIST-1D and synthetic data, with a seeded split for the architecture phase.

``create_datamodule(name, ...)`` builds one by name; ``DATA`` is the registry of loaders.
"""
from trial_templates.data.datamodule import ArrayDataModule, create_datamodule
from trial_templates.data.sources import DATA, ArrayData

__all__ = ["DATA", "ArrayData", "ArrayDataModule", "create_datamodule"]
