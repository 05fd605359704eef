"""The offline extractive analyzer's parts (``shared.adapters.extractive_analyzer``)."""
