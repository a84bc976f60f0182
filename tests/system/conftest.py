# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures for skiff's system tests (real kernel, real binaries)."""
import os
import pytest

BUILD = os.environ.get("SKIFF_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build", "san"))


@pytest.fixture(scope="session")
def runtime_bin():
    path = os.path.abspath(os.path.join(BUILD, "skiff-runtime"))
    assert os.access(path, os.X_OK), f"{path} not built"
    return path
