"""Precision and recall of the near-duplicate decision on a synthetic labelled set.

    python benchmarks/neardup_eval.py [--seed 1] [--duplicates 2000] [--negatives 2000] [--out FILE]

The pairs come from :mod:`benchmarks.neardup_data` (deterministic from the seed).
For each pair both articles are sketched (:func:`feeds.core.neardup.sketch`) and
judged with :func:`feeds.core.neardup.is_duplicate`.  Printed as Markdown (and written
to ``--out`` when given):

* precision / recall / F1 at the default threshold and a sweep of thresholds;
* the LSH candidate recall: the share of true pairs that share a bucket key
  (:func:`feeds.core.neardup.bands`), i.e. that a :class:`~feeds.core.neardup.NearDupIndex` finds at all;
* end-to-end through a ``NearDupIndex`` (one index per pair: candidates + decision);
* recall and false positives per kind of edit / negative;
* sketching throughput (articles/s, one core) and the mean error of the MinHash
  estimate against the exact Jaccard similarity of the shingle sets.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.neardup_data import pairs, story
from feeds.core import neardup

SWEEP = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8)


def _rates(scored: list[tuple[bool, bool]]) -> tuple[float, float, float, int, int]:
    tp = sum(1 for guess, same in scored if guess and same)
    fp = sum(1 for guess, same in scored if guess and not same)
    fn = sum(1 for guess, same in scored if not guess and same)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, fp, fn


def _exact_jaccard(a: neardup.Sketch, b: neardup.Sketch, ta: tuple[str, str], tb: tuple[str, str]) -> float:
    sa = neardup._shingles(neardup.normalise(*ta))
    sb = neardup._shingles(neardup.normalise(*tb))
    return len(sa & sb) / len(sa | sb) if sa or sb else 0.0


def _throughput(seed: int, count: int = 5000) -> str:
    """Sketching speed on general stories only: 1–2 KB of UTF-8 each (best of 3 runs)."""
    rng = random.Random(seed)
    articles = [story(rng) for _ in range(count)]
    size = sum(len((title + text).encode()) for title, text in articles) / count
    best = float("inf")
    for _ in range(3):
        start = time.process_time()  # CPU time: the machine is shared, wall time would count the others
        for title, text in articles:
            neardup.sketch(title, text)
        best = min(best, time.process_time() - start)
    return (
        f"Throughput on {count} stories of {size:.0f} bytes on average (CPU time of one core, best of 3): "
        f"**{count / best:,.0f} articles/s** ({best / count * 1e6:.0f} µs each)."
    )


def run(seed: int, duplicates: int, negatives: int) -> list[str]:
    data = pairs(seed, duplicates, negatives)
    texts = [article for _, a, b, _ in data for article in (a, b)]
    start = time.process_time()
    sketches = [neardup.sketch(title, text) for title, text in texts]
    sketch_seconds = time.process_time() - start
    start = time.process_time()
    keys = [set(neardup.bands(s)) for s in sketches]
    band_seconds = time.process_time() - start
    mean_chars = sum(len(t) + len(x) for t, x in texts) / len(texts)
    mean_bytes = sum(len((t + x).encode()) for t, x in texts) / len(texts)

    lines = [
        "## Near-duplicate evaluation",
        "",
        f"seed {seed}: {duplicates} true pairs, {negatives} hard negatives; "
        f"{len(texts)} articles of {mean_chars:.0f} characters ({mean_bytes:.0f} bytes UTF-8) on average; "
        f"shingle {neardup.SHINGLE} chars, {neardup.PERMUTATIONS} values, "
        f"{neardup.BANDS} bands × {neardup.ROWS} rows, default threshold {neardup.DEFAULT_THRESHOLD}.",
        "",
        "| threshold | precision | recall | F1 | false pos. | false neg. |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for threshold in sorted({*SWEEP, neardup.DEFAULT_THRESHOLD}):
        scored = [
            (neardup.is_duplicate(sketches[2 * i], sketches[2 * i + 1], threshold), same)
            for i, (_, _, _, same) in enumerate(data)
        ]
        p, r, f1, fp, fn = _rates(scored)
        mark = " **(default)**" if threshold == neardup.DEFAULT_THRESHOLD else ""
        lines.append(f"| {threshold:.2f}{mark} | {p:.4f} | {r:.4f} | {f1:.4f} | {fp} | {fn} |")

    # Without the numbers rule, to show what it buys.
    no_numbers = [
        (neardup.similar(sketches[2 * i], sketches[2 * i + 1]) >= neardup.DEFAULT_THRESHOLD, same)
        for i, (_, _, _, same) in enumerate(data)
    ]
    p, r, _, fp, fn = _rates(no_numbers)
    lines += [
        "",
        f"Numbers rule off, at {neardup.DEFAULT_THRESHOLD}: precision {p:.4f}, recall {r:.4f} ({fp} false pos.).",
    ]

    true_idx = [i for i, (_, _, _, same) in enumerate(data) if same]
    shared = sum(1 for i in true_idx if keys[2 * i] & keys[2 * i + 1])
    lines.append(
        f"LSH candidate recall (true pairs sharing a bucket): {shared / len(true_idx):.4f} ({shared}/{len(true_idx)})."
    )

    scored = []
    for i, (_, _, _, same) in enumerate(data):
        index = neardup.NearDupIndex()
        index.add("a", sketches[2 * i], 0.0)
        scored.append((index.find(sketches[2 * i + 1], 3600.0) == "a", same))
    p, r, _, fp, fn = _rates(scored)
    lines.append(
        f"End to end through NearDupIndex: precision {p:.4f}, recall {r:.4f} ({fp} false pos., {fn} false neg.)."
    )

    per_kind: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    for i, (kind, _, _, same) in enumerate(data):
        names = [f"dup edit: {edit}" for edit in kind[4:].split("+")] if same else [kind]
        judged = neardup.is_duplicate(sketches[2 * i], sketches[2 * i + 1])
        for name in names:
            per_kind[name] += 1
            hits[name] += judged
    lines += ["", "| kind | pairs | judged duplicate |", "|---|---:|---:|"]
    for name in sorted(per_kind):
        lines.append(f"| {name} | {per_kind[name]} | {hits[name]} ({hits[name] / per_kind[name]:.1%}) |")

    sample = range(0, len(data), max(1, len(data) // 400))
    errors = [
        abs(
            neardup.jaccard(sketches[2 * i], sketches[2 * i + 1])
            - _exact_jaccard(sketches[2 * i], sketches[2 * i + 1], data[i][1], data[i][2])
        )
        for i in sample
    ]
    lines += [
        "",
        f"MinHash estimate vs exact Jaccard ({len(errors)} pairs): mean abs. error {sum(errors) / len(errors):.4f}, "
        f"max {max(errors):.4f}.",
        f"Throughput over this set (CPU time, one core): sketch {len(texts) / sketch_seconds:,.0f} articles/s "
        f"({sketch_seconds / len(texts) * 1e6:.0f} µs each); bands {len(texts) / band_seconds:,.0f} sketches/s.",
        _throughput(seed),
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duplicates", type=int, default=2000)
    parser.add_argument("--negatives", type=int, default=2000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    lines = run(args.seed, args.duplicates, args.negatives)
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
