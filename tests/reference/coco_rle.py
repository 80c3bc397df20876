#!/usr/bin/python3
"""coco_rle.py - an independent reference encoder of COCO's run-length masks (plain Python, no
numpy, no pycocotools), the oracle of tests/test_import_coco.c for data/rle.c.

Format (see data/rle.h): runs of the mask read column-major, alternating 0s and 1s, starting
with 0s. Compressed string: from the fourth run on, each run length is replaced by its
difference to the run two places before; each value is written in 5-bit groups, least
significant first, as chr(48 + group), with 0x20 set on every group but the last; the last
group's bit 0x10 is the sign bit.

usage: coco_rle.py IN OUT
  IN holds masks, each as a line "h w" followed by h lines of w characters '0' / '1'.
  OUT gets one line per mask: "<compressed string> <count0> <count1> ...".
  coco_rle.py --demo prints the string of the 4x5 example mask used in the C test.
"""
import sys


def runs(rows):
    """Column-major run lengths of a mask given as a list of strings of '0'/'1'."""
    h, w = len(rows), len(rows[0]) if rows else 0
    counts, cur, run = [], "0", 0
    for x in range(w):
        for y in range(h):
            v = rows[y][x]
            if v != cur:
                counts.append(run)
                run, cur = 0, v
            run += 1
    counts.append(run)
    return counts


def to_string(counts):
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        while True:
            g = x & 0x1F          # Python ints: & and >> act on the infinite two's complement
            x >>= 5
            more = (x != -1) if (g & 0x10) else (x != 0)
            if more:
                g |= 0x20
            out.append(chr(48 + g))
            if not more:
                break
    return "".join(out)


def from_string(s):
    """The decoder, to check the encoder against itself here."""
    counts, p = [], 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            g = ord(s[p]) - 48
            x |= (g & 0x1F) << (5 * k)
            more = bool(g & 0x20)
            p += 1
            k += 1
            if not more and (g & 0x10):
                x -= 1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


DEMO = ["00110",
        "01110",
        "01100",
        "00000"]


def main():
    if sys.argv[1:] == ["--demo"]:
        c = runs(DEMO)
        print(to_string(c), c)
        return 0
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    lines = open(sys.argv[1]).read().split("\n")
    out, i = [], 0
    while i < len(lines) and lines[i].strip():
        h, w = map(int, lines[i].split())
        rows = lines[i + 1:i + 1 + h]
        assert all(len(r) == w for r in rows), "bad mask row length"
        c = runs(rows)
        s = to_string(c)
        assert from_string(s) == c, "reference encoder does not round-trip"
        out.append(" ".join([s] + [str(v) for v in c]))
        i += 1 + h
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
