"""supernas: weight-sharing neural architecture search on the platforms ML teams already run.

The core (this package) depends on torch, numpy and pyyaml only; the NNI, Katib and Lightning
adapters live in ``nni_plugins``, ``katib_suggestions`` and ``trial_templates``.
"""
from supernas.architecture import Architecture
from supernas.errors import ArchitectureError, ConfigError, RegistryError, SpaceError, SupernasError
from supernas.freeze import copy_weights, freeze
from supernas.mutables import InputChoice, LayerChoice, Mutable
from supernas.mutator import (
    ChoiceMutator,
    FixedMutator,
    MixingMutator,
    Mutator,
    SamplingMutator,
    UniformMutator,
)
from supernas.space import Decision, decisions, space_size, validate
from supernas.spaces import SPACES, architecture_of, build_child, create_space, space_of

__version__ = "0.1.0"

__all__ = [
    "SPACES", "Architecture", "ArchitectureError", "ChoiceMutator", "ConfigError", "Decision",
    "FixedMutator", "InputChoice", "LayerChoice", "MixingMutator", "Mutable", "Mutator",
    "RegistryError", "SamplingMutator", "SpaceError", "SupernasError",
    "UniformMutator", "architecture_of", "build_child", "copy_weights", "create_space", "decisions",
    "freeze", "space_of", "space_size", "validate",
]
