"""The environment that makes this machine compute as an older processor would.

A lesson's stored outputs must be what every correct machine prints. Two things move the last
digits from one processor to the next, and both can be switched on one machine:

- OpenBLAS picks a kernel for the processor it finds (SkylakeX, Haswell, Zen, ...); another
  kernel blocks and fuses a matrix product differently. ``OPENBLAS_CORETYPE`` forces one.
- NumPy's own loops (sums, ``tanh``, ``exp``, sorts) are compiled for several SIMD levels and
  run the widest the processor has; ``NPY_DISABLE_CPU_FEATURES`` switches levels off.

``python tests/second_machine.py [GENERATIONS]`` prints ``OPENBLAS_CORETYPE=...
NPY_DISABLE_CPU_FEATURES=...`` for ``env``: the OpenBLAS kernel GENERATIONS (default 1) below
the one picked here, and numpy without its GENERATIONS widest SIMD levels. ``make
test-portable`` runs the lessons under nbval one and two generations down. On an AVX-512
machine (OpenBLAS SkylakeX, numpy X86_V4) that is Haswell without X86_V4 (an AVX2 laptop),
then Sandybridge without X86_V3 (an old AVX machine). What it cannot emulate: another numpy,
SciPy or OpenBLAS version, another compiler, or an Arm processor's own kernels (on Arm it
switches off numpy's optional SIMD levels and forces OpenBLAS's generic ARMV8 kernel).
"""

import platform
import sys

# OpenBLAS's x86-64 kernels, oldest first; Zen's kernels are Haswell's (AVX2).
KERNELS = ["Nehalem", "Sandybridge", "Haswell", "SkylakeX", "Cooperlake", "SapphireRapids"]
SAME_AS = {"zen": "Haswell"}


def openblas_kernel():
    """The kernel OpenBLAS picked for this processor (numpy's copy), or None."""
    import numpy  # noqa: F401  (loads numpy's OpenBLAS, which threadpoolctl then reports)
    from threadpoolctl import threadpool_info

    return next((info.get("architecture") for info in threadpool_info()
                 if info.get("internal_api") == "openblas"), None)


def older_kernel(picked, generations=1, machine="x86_64"):
    """The kernel to force: generations older than picked (Haswell when picked is unknown)."""
    if machine not in ("x86_64", "AMD64"):
        return "ARMV8"
    names = [k.lower() for k in KERNELS]
    picked = SAME_AS.get((picked or "").lower(), picked or "")
    if picked.lower() not in names:
        return "Haswell"
    return KERNELS[max(names.index(picked.lower()) - generations, 0)]


def simd_to_disable(found, generations=1):
    """numpy's SIMD levels to switch off, from those found (what numpy.show_runtime() lists):
    the generations widest X86_Vn levels and everything found above them, so that an older
    level runs. Outside x86, every optional level found."""
    levels = sorted(f for f in found if f.startswith("X86_V"))
    if not levels:
        return list(found)
    lowest_off = levels[max(len(levels) - generations, 0)]
    return [f for f in found if not f.startswith("X86_V") or f >= lowest_off]


def environment(generations=1):
    """The two variables, as a dict of strings."""
    # What numpy.show_runtime() prints as "found", read where it reads it.
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    found = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    return {"OPENBLAS_CORETYPE": older_kernel(openblas_kernel(), generations,
                                              platform.machine()),
            "NPY_DISABLE_CPU_FEATURES": ",".join(simd_to_disable(found, generations))}


if __name__ == "__main__":
    generations = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    variables = environment(generations)
    print(f"second machine, {generations} generation(s) older: OpenBLAS picks "
          f"{openblas_kernel()} here, forced to {variables['OPENBLAS_CORETYPE']}; numpy without "
          f"{variables['NPY_DISABLE_CPU_FEATURES'] or 'nothing'}", file=sys.stderr)
    print(" ".join(f"{k}={v}" for k, v in variables.items()))
