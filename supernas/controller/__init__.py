"""The ENAS LSTM controller and its REINFORCE trainer, shared by the ask/tell strategy and one-shot ENAS."""
from supernas.controller.lstm import EnasController, Sample
from supernas.controller.reinforce import Reinforce

__all__ = ["EnasController", "Reinforce", "Sample"]
