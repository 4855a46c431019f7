"""Benign generated videos shared by the video tests (encoded once per session)."""

from __future__ import annotations

import pytest

from verisight.demo_video import make_video


@pytest.fixture(scope="session")
def clip() -> bytes:
    """An 8-second 320×240 H.264 MP4 with audio: four scenes and a moving disc."""
    return make_video(8, seed=1, audio=True)


@pytest.fixture(scope="session")
def other_clip() -> bytes:
    """An unrelated 8-second clip (different scenes)."""
    return make_video(8, seed=2)
