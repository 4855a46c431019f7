"""An optional, user-supplied AI-image detector: an ONNX image classifier run offline.

Verisight ships no model and downloads nothing: the user points at a ``.onnx`` file. It runs with
onnxruntime on the CPU provider.

Input contract (checked when the model is loaded)
    * exactly one input, ``float32``, shape ``[N, 3, H, W]`` (NCHW; ``N`` may be dynamic or 1);
    * ``H`` and ``W`` are taken from the model when fixed; a dynamic side is 224;
    * pixels: RGB, resized (not cropped) to ``W``×``H`` with bilinear filtering, scaled to
      0–1, then normalised per channel with the ImageNet mean ``(0.485, 0.456, 0.406)`` and
      standard deviation ``(0.229, 0.224, 0.225)``.

Output contract
    * the first output, ``[N, 1]``, ``[N]`` or ``[N, 2]``;
    * one value: a **logit** of "AI-generated" (the score is its sigmoid);
    * two values: **logits** of ``[real, AI-generated]`` (the score is the softmax of index 1).

A model whose outputs are already probabilities declares it in its ONNX metadata
(``verisight.output = probability``), or the caller passes ``output="probability"``. The ONNX
metadata may also set ``verisight.mean`` and ``verisight.std`` (three comma-separated numbers each)
for another normalisation.

:meth:`Detector.score` returns the probability (0–1) that the image is AI-generated *according
to the model*: a detector's score is an estimate with its own error rates, never proof.

Example::

    detector = Detector.load(Path("detector.onnx"))
    score = detector.score(Image.open("image.png"))
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from verisight.errors import VerisightError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_SIDE = 224
_MAX_SIDE = 4096

OutputKind = Literal["auto", "logit", "probability"]


class DetectorError(VerisightError):
    """The detector model cannot be used (missing, unreadable, or not the documented shape)."""


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """What :meth:`Detector.load` learned about the model."""

    path: str
    input_name: str
    width: int
    height: int
    #: 1 (one logit/probability) or 2 (``[real, AI-generated]``).
    classes: int
    output: Literal["logit", "probability"]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


class Detector:
    """A loaded detector; :meth:`score` is safe to call from one thread at a time per object."""

    def __init__(self, session: Any, spec: DetectorSpec) -> None:
        self._session = session
        self.spec = spec

    @classmethod
    def load(cls, path: Path, *, output: OutputKind = "auto", threads: int = 1) -> Detector:
        """Load and validate ``path``; :class:`DetectorError` with the reason when unusable."""
        try:
            ort = importlib.import_module("onnxruntime")
        except ImportError:
            raise DetectorError(
                "the detector needs onnxruntime (pip install onnxruntime)"
            ) from None
        if not Path(path).is_file():
            raise DetectorError(f"detector model not found: {path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise DetectorError(f"{path}: not a loadable ONNX model: {exc}"[:500]) from None
        spec = _spec(session, str(path), output)
        detector = cls(session, spec)
        # One run on a blank image checks the real output shape (and settles a dynamic one).
        probe = detector._raw(np.zeros((1, 3, spec.height, spec.width), dtype=np.float32))
        classes = 2 if probe.shape == (1, 2) else 1
        detector.spec = replace(spec, classes=classes)
        detector._interpret(probe, 1)
        return detector

    def score(self, image: Image.Image) -> float:
        """Probability (0–1), according to the model, that ``image`` is AI-generated."""
        return float(self._run(self.preprocess(image))[0])

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """``image`` as the model's ``[1, 3, H, W]`` float32 input (see the module docstring)."""
        spec = self.spec
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        resized = rgb.resize((spec.width, spec.height), Image.Resampling.BILINEAR)
        pixels = np.asarray(resized, dtype=np.float32) / np.float32(255.0)
        mean = np.asarray(spec.mean, dtype=np.float32)
        std = np.asarray(spec.std, dtype=np.float32)
        normalised = ((pixels - mean) / std).astype(np.float32)
        return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None, ...])

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return self._interpret(self._raw(batch), batch.shape[0])

    def _raw(self, batch: np.ndarray) -> np.ndarray:
        try:
            out = self._session.run(None, {self.spec.input_name: batch})[0]
        except Exception as exc:
            raise DetectorError(f"{self.spec.path}: inference failed: {exc}"[:500]) from None
        return np.asarray(out, dtype=np.float64)

    def _interpret(self, arr: np.ndarray, n: int) -> np.ndarray:
        if arr.shape in ((n,), (n, 1)) and self.spec.classes == 1:
            values = arr.reshape(n)
            if self.spec.output == "logit":
                return np.asarray(1.0 / (1.0 + np.exp(-values)))
            return np.asarray(np.clip(values, 0.0, 1.0), dtype=np.float64)
        if arr.shape == (n, 2) and self.spec.classes == 2:
            if self.spec.output == "probability":
                return np.asarray(np.clip(arr[:, 1], 0.0, 1.0), dtype=np.float64)
            shifted = arr - arr.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            return np.asarray(exp[:, 1] / exp.sum(axis=1))
        raise DetectorError(
            f"{self.spec.path}: output shape {list(arr.shape)} for a batch of {n}; "
            "expected [N, 1], [N] or [N, 2]"
        )


def _spec(session: Any, path: str, output: OutputKind) -> DetectorSpec:
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise DetectorError(f"{path}: the model has {len(inputs)} inputs; expected exactly 1")
    inp = inputs[0]
    if inp.type != "tensor(float)":
        raise DetectorError(f"{path}: input type is {inp.type}; expected tensor(float) (float32)")
    shape = list(inp.shape)
    if len(shape) != 4:
        raise DetectorError(
            f"{path}: input shape {shape} has rank {len(shape)}; expected [N, 3, H, W]"
        )
    batch, channels, height, width = shape
    if isinstance(batch, int) and batch not in (1, -1):
        raise DetectorError(f"{path}: fixed batch size {batch}; expected 1 or dynamic")
    if channels != 3:
        raise DetectorError(
            f"{path}: input shape {shape}: channel dimension is {channels}; expected 3 "
            "(NCHW RGB; NHWC models are not supported)"
        )
    h, w = _side(height, path), _side(width, path)
    outputs = session.get_outputs()
    if not outputs:
        raise DetectorError(f"{path}: the model has no output")
    out_shape = list(outputs[0].shape)
    last = out_shape[-1] if len(out_shape) == 2 else 1
    if len(out_shape) not in (1, 2) or (isinstance(last, int) and last not in (1, 2)):
        raise DetectorError(f"{path}: output shape {out_shape}; expected [N, 1], [N] or [N, 2]")
    meta = dict(session.get_modelmeta().custom_metadata_map or {})
    declared = meta.get("verisight.output", "").strip().lower()
    kind: Literal["logit", "probability"] = "logit"
    if output == "probability" or (output == "auto" and declared == "probability"):
        kind = "probability"
    return DetectorSpec(
        path=path,
        input_name=inp.name,
        width=w,
        height=h,
        classes=2 if last == 2 else 1,  # settled by the probe run when dynamic
        output=kind,
        mean=_triple(meta.get("verisight.mean"), IMAGENET_MEAN, "verisight.mean", path),
        std=_triple(meta.get("verisight.std"), IMAGENET_STD, "verisight.std", path),
    )


def _side(value: object, path: str) -> int:
    if isinstance(value, int) and value > 0:
        if value > _MAX_SIDE:
            raise DetectorError(f"{path}: input side {value} exceeds {_MAX_SIDE}")
        return value
    return DEFAULT_SIDE  # dynamic ("height", None or -1)


def _triple(
    value: str | None, default: tuple[float, float, float], key: str, path: str
) -> tuple[float, float, float]:
    if not value:
        return default
    try:
        a, b, c = (float(x) for x in value.split(","))
    except ValueError:
        raise DetectorError(f"{path}: metadata {key}={value!r} is not three numbers") from None
    if key == "verisight.std" and min(a, b, c) <= 0:
        raise DetectorError(f"{path}: metadata {key}={value!r} must be positive")
    return (a, b, c)
