#!/usr/bin/python3
"""Writes the golden .npy files of tests/test_npy.cpp into tests/data/npy/.

    /usr/bin/python3 tests/data/make_golden_npy.py

Every file is written by numpy itself, so the tests check our reader against
what numpy really produces and our writer against numpy.save byte for byte.
Naming (the test relies on it):

  f4_* f8_*        C order, little-endian, format 1.0, written by numpy.save;
                   the test reads them AND checks that write_npy reproduces them
  be_* fortran_* v2_* v3_*
                   the same values in other layouts, for reading only
  int_*, bool_5    integer and bool arrays holding each type's extremes
  specials_*       NaN, infinities, -0, a float32 subnormal, a float32 overflow
  bad_*            real numpy files with dtypes we refuse

Float arrays hold value[i] = (i - 2) / 3 for i = 0, 1, ... in C order, rounded
to the dtype: the test recomputes them the same way in C++ (IEEE division and
float rounding give identical bits).
"""
import os
import pathlib
import warnings

import numpy as np
from numpy.lib import format as npformat

OUT = pathlib.Path(__file__).resolve().parent / "npy"
# numpy.save's alignment of the data and its spare room for the first axis.
ALIGN = 64
GROWTH_AXIS_MAX_DIGITS = 21


def values(shape, dtype):
    count = int(np.prod(shape, dtype=np.int64))
    return ((np.arange(count, dtype=np.float64) - 2) / 3).astype(dtype).reshape(shape)


def save(name, array, version=None, allow_pickle=False):
    with open(OUT / name, "wb") as f:
        if version is None:
            np.save(f, array, allow_pickle=allow_pickle)
        else:
            npformat.write_array(f, array, version=version, allow_pickle=allow_pickle)


def padding(shape):
    """Spaces numpy.save puts after the growth room to align the data."""
    preamble = 10 + len(f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape!r}, }}") + 1
    if shape:
        preamble += GROWTH_AXIS_MAX_DIGITS - len(repr(shape[0]))
    return ALIGN - preamble % ALIGN


def zero_size_shape_with_padding(wanted):
    """A shape with no elements whose header needs exactly `wanted` pad spaces."""
    # numpy allows at most 32 dimensions; the last one's digit count fine-tunes the length.
    for ones in range(30):
        for digits in range(1, 19):
            shape = (0,) + (1,) * ones + (10 ** (digits - 1),)
            if padding(shape) == wanted:
                return shape
    raise AssertionError(f"no shape gives padding {wanted}")


def main():
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.npy"):
        old.unlink()

    # Shared by the reading and byte-identical writing tests.
    for dtype in ("f4", "f8"):
        for label, shape in [("3x2", (3, 2)), ("5", (5,)), ("scalar", ()), ("0x2", (0, 2)),
                             ("2x3x4", (2, 3, 4))]:
            save(f"{dtype}_{label}.npy", values(shape, "<" + dtype))
    # Long dimensions change the header's length and its growth room.
    save("f8_0x123456789.npy", np.zeros((0, 123456789)))
    save("f8_12345678901234567x0.npy", np.zeros((12345678901234567, 0)))
    # The two edges of the padding rule: 1 space, and a whole 64 when already aligned.
    for wanted in (1, ALIGN):
        shape = zero_size_shape_with_padding(wanted)
        save(f"f8_pad{wanted}.npy", np.zeros(shape))
        # Check the padding arithmetic against what numpy really wrote.
        data = (OUT / f"f8_pad{wanted}.npy").read_bytes()
        preamble = 10 + int.from_bytes(data[8:10], "little")
        spaces = preamble - 1 - (data.index(b"}") + 1)
        assert spaces == GROWTH_AXIS_MAX_DIGITS - len(repr(shape[0])) + wanted, shape

    # Other layouts of the same values, for reading.
    save("be_f8_3x2.npy", values((3, 2), ">f8"))
    save("be_f4_3x2.npy", values((3, 2), ">f4"))
    save("fortran_f8_3x2.npy", np.asfortranarray(values((3, 2), "<f8")))
    save("fortran_f4_2x3x4.npy", np.asfortranarray(values((2, 3, 4), "<f4")))
    save("fortran_be_f8_4x3.npy", np.asfortranarray(values((4, 3), ">f8")))
    save("v2_f8_3x2.npy", values((3, 2), "<f8"), version=(2, 0))
    save("v3_f4_3x2.npy", values((3, 2), "<f4"), version=(3, 0))
    for name in ("fortran_f8_3x2", "fortran_f4_2x3x4", "fortran_be_f8_4x3"):
        assert b"'fortran_order': True" in (OUT / f"{name}.npy").read_bytes(), name

    # Integers: min, min + 1, 0, 1, max - 1, max of each type.
    for kind in ("i", "u"):
        for size in (1, 2, 4, 8):
            orders = [("", "|")] if size == 1 else [("le_", "<"), ("be_", ">")]
            for prefix, order in orders:
                dtype = np.dtype(f"{order}{kind}{size}")
                info = np.iinfo(dtype)
                array = np.array([info.min, info.min + 1, 0, 1, info.max - 1, info.max], dtype)
                save(f"int_{prefix}{kind}{size}.npy", array)
    save("bool_5.npy", np.array([True, False, True, True, False]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float32 overflow of 1e300 is the point
        specials = np.array([np.nan, np.inf, -np.inf, -0.0, 1e-40, 1e300, 0.1, -2.5])
        save("specials_f8.npy", specials)
        save("specials_f4.npy", specials.astype("<f4"))

    # Real numpy files whose dtypes we refuse.
    save("bad_c16.npy", np.array([1 + 2j, 3 - 4j]))
    save("bad_f2.npy", np.array([1.5, 2.5], "<f2"))
    save("bad_U3.npy", np.array(["abc", "de"]))
    save("bad_M8.npy", np.array(["2024-01-01"], "datetime64[D]"))
    save("bad_object.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    save("bad_structured.npy", np.zeros(2, [("x", "<f8"), ("y", "<i4")]))
    # A field name outside Latin-1 makes numpy.save choose format 3.0 (UTF-8 header).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save("bad_structured_v3.npy", np.zeros(2, [("\u03bb", "<f8")]))
    assert (OUT / "bad_structured_v3.npy").read_bytes()[6] == 3

    total = sum(f.stat().st_size for f in OUT.glob("*.npy"))
    print(f"wrote {len(list(OUT.glob('*.npy')))} files, {total} bytes, to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
