"""Interactive explorers for the notebooks; each shows a static figure without a widget frontend."""

from .conv_explorer import ConvExplorer, conv_explorer
from .kernel_editor import KernelEditor, kernel_editor

__all__ = ["ConvExplorer", "KernelEditor", "conv_explorer", "kernel_editor"]
