"""Interactive explorers (ipywidgets) built on plain, tested compute functions."""
