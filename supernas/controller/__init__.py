"""The ENAS LSTM controller and its REINFORCE trainer, shared by the ask/tell strategy and one-shot ENAS."""
from supernas.controller.lstm import MAX_HIDDEN_SIZE, EnasController, Sample
from supernas.controller.reinforce import Reinforce

__all__ = ["MAX_HIDDEN_SIZE", "EnasController", "Reinforce", "Sample"]
