# SPDX-License-Identifier: Apache-2.0
"""The runc-compatible command line: version and usage."""
import subprocess


def test_version(runtime_bin):
    out = subprocess.run([runtime_bin, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("skiff-runtime version ")
    assert "spec: 1.2.0" in out
