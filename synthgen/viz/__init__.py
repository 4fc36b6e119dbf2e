"""Looking at a dataset: ``synthgen preview`` (a contact sheet with labels drawn from the written
files) and ``synthgen report`` (an HTML page of dataset statistics).

See :mod:`synthgen.viz.preview`, :mod:`synthgen.viz.report` and the overlay colours in
:mod:`synthgen.viz.overlay`.
"""
from synthgen.viz.dataset import NotADatasetError, VizError
from synthgen.viz.preview import preview_dataset, preview_frames, sheet_layout
from synthgen.viz.report import report_dataset

__all__ = ["NotADatasetError", "VizError", "preview_dataset", "preview_frames", "report_dataset",
           "sheet_layout"]
