"""The second machine of make test-portable: the right older kernel and SIMD levels are chosen,
and a process started with them really computes with them (else the check would pass
silently, having emulated nothing)."""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from second_machine import environment, older_kernel, simd_to_disable


@pytest.mark.parametrize(("picked", "generations", "forced"), [
    ("SkylakeX", 1, "Haswell"), ("SkylakeX", 2, "Sandybridge"), ("Haswell", 1, "Sandybridge"),
    ("Zen", 1, "Sandybridge"), ("SapphireRapids", 2, "SkylakeX"), ("Sandybridge", 3, "Nehalem"),
    ("Neoverse", 1, "Haswell"), (None, 1, "Haswell"),
])
def test_the_kernel_forced_is_older_than_the_one_picked(picked, generations, forced):
    assert older_kernel(picked, generations) == forced


def test_arm_gets_the_generic_kernel():
    assert older_kernel("NEOVERSEN1", 1, machine="aarch64") == "ARMV8"


@pytest.mark.parametrize(("found", "generations", "off"), [
    (["X86_V3", "X86_V4", "AVX512_ICL"], 1, ["X86_V4", "AVX512_ICL"]),
    (["X86_V3", "X86_V4", "AVX512_ICL"], 2, ["X86_V3", "X86_V4", "AVX512_ICL"]),
    (["X86_V3"], 1, ["X86_V3"]),
    (["X86_V3"], 2, ["X86_V3"]),
    (["ASIMDHP", "ASIMDDP"], 1, ["ASIMDHP", "ASIMDDP"]),
    ([], 1, []),
])
def test_numpy_loses_its_widest_simd_levels(found, generations, off):
    assert simd_to_disable(found, generations) == off


PROBE = """
import json
import numpy
from numpy._core._multiarray_umath import __cpu_features__
from threadpoolctl import threadpool_info
print(json.dumps({"kernel": [i.get("architecture") for i in threadpool_info()
                             if i.get("internal_api") == "openblas"][0],
                  "features": __cpu_features__}))
"""


@pytest.mark.skipif(platform.machine() != "x86_64", reason="OpenBLAS's x86-64 kernels")
@pytest.mark.parametrize("generations", [1, 2])
def test_a_process_started_with_it_computes_as_the_older_machine(generations):
    variables = environment(generations)
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            check=True, env={**os.environ, **variables},
                            cwd=Path(__file__).parent)
    seen = json.loads(result.stdout)
    assert seen["kernel"].lower() == variables["OPENBLAS_CORETYPE"].lower()
    for feature in filter(None, variables["NPY_DISABLE_CPU_FEATURES"].split(",")):
        assert seen["features"][feature] is False, feature
