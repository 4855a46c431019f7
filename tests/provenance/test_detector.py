"""The optional ONNX detector, on tiny models this test builds with the ``onnx`` helper API."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from verisight.analysis.detector import IMAGENET_MEAN, IMAGENET_STD, Detector, DetectorError

onnx = pytest.importorskip("onnx", reason="the onnx package builds the test models")
pytest.importorskip("onnxruntime", reason="the detector runs on onnxruntime")
from onnx import TensorProto, helper  # noqa: E402

WEIGHTS = np.array([[1.5], [-2.0], [0.5]], dtype=np.float32)
BIAS = np.array([0.25], dtype=np.float32)


def _save(model: onnx.ModelProto, path: Path, metadata: dict[str, str] | None = None) -> Path:
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def linear_model(
    path: Path,
    *,
    input_shape: list[int | str] | None = None,
    classes: int = 1,
    metadata: dict[str, str] | None = None,
) -> Path:
    """x → GlobalAveragePool → Flatten → MatMul(W) + b: one logit (or two) per image."""
    shape = input_shape or ["N", 3, 32, 32]
    weights = WEIGHTS if classes == 1 else np.concatenate([-WEIGHTS, WEIGHTS], axis=1)
    bias = BIAS if classes == 1 else np.array([0.0, 0.25], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["x"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"]),
            helper.make_node("MatMul", ["flat", "W"], ["mm"]),
            helper.make_node("Add", ["mm", "b"], ["y"]),
        ],
        "detector",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", classes])],
        initializer=[
            helper.make_tensor(
                "W", TensorProto.FLOAT, list(weights.shape), weights.ravel().tolist()
            ),
            helper.make_tensor("b", TensorProto.FLOAT, list(bias.shape), bias.tolist()),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return _save(model, path, metadata)


def expected_logit(colour: tuple[int, int, int], classes: int = 1) -> float:
    normalised = [
        (c / 255 - m) / s for c, m, s in zip(colour, IMAGENET_MEAN, IMAGENET_STD, strict=True)
    ]
    logit = float(np.dot(normalised, WEIGHTS[:, 0]) + BIAS[0])
    if classes == 1:
        return 1 / (1 + math.exp(-logit))
    a, c = -logit + 0.25, logit  # class 0 = -x·W, class 1 = x·W + 0.25
    return math.exp(c) / (math.exp(a) + math.exp(c))


@pytest.mark.parametrize("colour", [(255, 0, 0), (0, 0, 255), (128, 128, 128)])
def test_single_logit_score(tmp_path: Path, colour: tuple[int, int, int]) -> None:
    detector = Detector.load(linear_model(tmp_path / "d.onnx"))
    assert (detector.spec.width, detector.spec.height, detector.spec.classes) == (32, 32, 1)
    score = detector.score(Image.new("RGB", (100, 60), colour))
    assert score == pytest.approx(expected_logit(colour), abs=1e-5)
    assert 0.0 <= score <= 1.0


def test_two_class_softmax_and_dynamic_size(tmp_path: Path) -> None:
    path = linear_model(tmp_path / "d.onnx", input_shape=["N", 3, "H", "W"], classes=2)
    detector = Detector.load(path)
    assert (detector.spec.width, detector.spec.height, detector.spec.classes) == (224, 224, 2)
    colour = (10, 200, 30)
    # RGBA and greyscale inputs are converted to RGB first
    score = detector.score(Image.new("RGBA", (50, 50), (*colour, 128)))
    assert score == pytest.approx(expected_logit(colour, classes=2), abs=1e-5)


def test_probability_output_declared_in_metadata(tmp_path: Path) -> None:
    path = linear_model(
        tmp_path / "d.onnx",
        metadata={
            "verisight.output": "probability",
            "verisight.mean": "0,0,0",
            "verisight.std": "1,1,1",
        },
    )
    detector = Detector.load(path)
    assert detector.spec.output == "probability"
    # mean 0 / std 1: a black image gives exactly the bias, clipped to [0, 1]
    assert detector.score(Image.new("RGB", (8, 8))) == pytest.approx(0.25)
    assert detector.score(Image.new("RGB", (8, 8), (255, 0, 0))) == pytest.approx(1.0)


def test_preprocess_is_nchw_float32(tmp_path: Path) -> None:
    detector = Detector.load(linear_model(tmp_path / "d.onnx"))
    arr = detector.preprocess(Image.new("L", (10, 20), 255))
    assert arr.shape == (1, 3, 32, 32) and arr.dtype == np.float32
    assert arr[0, 0, 0, 0] == pytest.approx((1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0], rel=1e-6)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (["N", 32, 32, 3], "channel dimension is 32; expected 3"),
        (["N", 3, 32], "rank 3; expected [N, 3, H, W]"),
        ([4, 3, 32, 32], "fixed batch size 4"),
    ],
)
def test_wrong_input_shapes_are_refused(
    tmp_path: Path, shape: list[int | str], message: str
) -> None:
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["y"], keepdims=0)],
        "bad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
    )
    path = _save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "m.onnx"
    )
    with pytest.raises(DetectorError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Detector.load(path)


def test_wrong_output_shape_is_refused(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["x"], ["y"])],
        "bad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 48])],
    )
    path = _save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "m.onnx"
    )
    with pytest.raises(DetectorError, match=r"output shape \[1, 48\]"):
        Detector.load(path)


def test_wrong_input_type_and_bad_files(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "bad",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 3, 8, 8])],
    )
    path = _save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "u8.onnx"
    )
    with pytest.raises(DetectorError, match=r"tensor\(uint8\)"):
        Detector.load(path)
    with pytest.raises(DetectorError, match="not found"):
        Detector.load(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(DetectorError, match="not a loadable ONNX model"):
        Detector.load(junk)
    with pytest.raises(DetectorError, match=r"verisight\.std"):
        Detector.load(linear_model(tmp_path / "s.onnx", metadata={"verisight.std": "1,0,1"}))
