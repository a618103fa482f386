"""Precision on the hard negatives and recall on the positives of the near-duplicate decision.

    python benchmarks/neardup_eval.py [--seed 1] [--scale 1.0] [--module-file FILE] [--out FILE]

The labelled pairs come from :mod:`benchmarks.neardup_corpus` (deterministic from
the seed).  Each post is turned into text as the store sees it (the body
rendered by :func:`feeds.core.text.render_markdown`, then ``html_to_text``), sketched,
and every pair judged by ``is_duplicate`` at the default threshold.  Reported
(Markdown on stdout, and in ``--out`` when given):

* per class: pairs, pairs judged duplicate; for a negative class every merge is a
  false one (the target is 0: precision 1.0), for a positive class the share
  merged is its recall (target >= 0.95 on ``wire-republished``);
* the same through the LSH candidates: the pair shares a bucket key (``bands``);
* end to end: every post of the corpus, in date order, through one
  ``NearDupIndex`` (window 48 h): pairs ending in the same cluster, false merges
  between stories anywhere in the stream, and stories lost (no cluster is headed
  by one of their own posts);
* recall of the republished wire stories per edit, and apart for the pairs
  with none of the held-out edits (:data:`~benchmarks.neardup_corpus.HELD_OUT`:
  kinds of edit the normaliser was not written for);
* cost: µs per sketch of a ~3 KB article (CPU time, best of 5), µs per pair
  compared (sketch objects, and from the stored bytes as a store compares them),
  stored bytes per sketch.

``--module-file`` evaluates another implementation with the same API (e.g. the
previous algorithm: ``git show 75e887d:feeds/neardup.py > /tmp/neardup_m1.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.neardup_corpus import HELD_OUT, NEGATIVE_CLASSES, POSITIVE_CLASSES, Pair, article_3k, corpus, render
from feeds.core.text import render_markdown

WINDOW = 48 * 3600.0


def load(path: str | None) -> ModuleType:
    if path is None:
        from feeds.core import neardup

        return neardup
    spec = importlib.util.spec_from_file_location("neardup_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def text_of(nd: ModuleType, body: str) -> str:
    return str(nd.html_to_text(render_markdown(body)))


def _cpu(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def run(nd: ModuleType, seed: int, scale: float) -> list[str]:
    pairs = corpus(seed, scale)
    texts = {p.key: (p.title, text_of(nd, p.body)) for pair in pairs for p in (pair.a, pair.b)}
    sketches = {key: nd.sketch(title, text) for key, (title, text) in texts.items()}
    blobs = {key: sk.to_bytes() for key, sk in sketches.items()}
    judged = [nd.is_duplicate(sketches[p.a.key], sketches[p.b.key]) for p in pairs]
    found = [bool(set(nd.bands(sketches[p.a.key])) & set(nd.bands(sketches[p.b.key]))) for p in pairs]
    clusters = _stream(nd, pairs, sketches)
    lines = [
        "## Near-duplicate decision on the adversarial corpus",
        "",
        f"module `{nd.__file__}` (VERSION {getattr(nd, 'VERSION', '?')}), seed {seed}, scale {scale}: "
        f"{len(pairs)} pairs, {len(sketches)} posts; default threshold {nd.DEFAULT_THRESHOLD}.",
        "",
        "| class | pairs | judged duplicate | sharing a band | same cluster (stream) |",
        "|---|---:|---:|---:|---:|",
    ]
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        by_class[pair.cls].append(i)
    for cls in (*NEGATIVE_CLASSES, *POSITIVE_CLASSES):
        idx = by_class[cls]
        merged = sum(judged[i] for i in idx)
        stream = sum(clusters[pairs[i].a.key] == clusters[pairs[i].b.key] for i in idx)
        band = sum(found[i] for i in idx)
        kind = "negative" if cls in NEGATIVE_CLASSES else "positive"
        lines.append(
            f"| {kind}: {cls} | {len(idx)} | {merged} ({merged / len(idx):.1%}) | {band} | "
            f"{stream} ({stream / len(idx):.1%}) |"
        )
    tp = sum(j for j, p in zip(judged, pairs, strict=True) if p.same)
    fp = sum(j for j, p in zip(judged, pairs, strict=True) if not p.same)
    positives = sum(p.same for p in pairs)
    lines += [
        "",
        f"Pairwise: precision {tp / max(1, tp + fp):.4f} ({fp} false merges), recall {tp / positives:.4f}.",
        *_stream_report(pairs, clusters),
        "",
        *_per_edit(pairs, judged),
        "",
        *_costs(nd, pairs, sketches, blobs),
    ]
    return lines


def _stream(nd: ModuleType, pairs: list[Pair], sketches: dict) -> dict[str, str]:  # type: ignore[type-arg]
    """Every post through one NearDupIndex in date order (then key): post key -> its cluster id."""
    posts = sorted({p.key: p for pair in pairs for p in (pair.a, pair.b)}.values(), key=lambda p: (p.date, p.key))
    index = nd.NearDupIndex()
    for p in posts:
        index.assign(p.key, sketches[p.key], p.date, WINDOW)
    return {p.key: index.cluster_of(p.key) for p in posts}


def _stream_report(pairs: list[Pair], clusters: dict[str, str]) -> list[str]:
    story = {p.key: s for pair in pairs for p, s in ((pair.a, pair.story_a), (pair.b, pair.story_b))}
    members: dict[str, set[str]] = defaultdict(set)
    for key, cluster in clusters.items():
        members[cluster].add(story[key])
    false = sum(len(stories) - 1 for stories in members.values())
    heads = {story[cluster] for cluster in members if cluster in story}
    lost = sorted(set(story.values()) - heads)
    lost_classes = Counter(s.rsplit("-", 2)[0] for s in lost)
    return [
        f"Stream (all {len(clusters)} posts through one NearDupIndex, window 48 h): "
        f"{false} stories merged into another story's cluster; {len(lost)} stories lost "
        f"(no cluster headed by one of their posts){': ' + str(dict(lost_classes)) if lost else ''}.",
    ]


def _per_edit(pairs: list[Pair], judged: list[bool]) -> list[str]:
    total: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    for pair, j in zip(pairs, judged, strict=True):
        if pair.cls == "wire-republished":
            held = "held-out edits" if set(pair.edits) & set(HELD_OUT) else "the issue's edits only"
            for edit in (*(pair.edits or ("none",)), held):
                total[edit] += 1
                hits[edit] += j
    lines = ["| wire-republished, pairs with edit | pairs | merged |", "|---|---:|---:|"]
    lines += [f"| {e} | {total[e]} | {hits[e]} ({hits[e] / total[e]:.1%}) |" for e in sorted(total)]
    return lines


def _costs(nd: ModuleType, pairs: list[Pair], sketches: dict, blobs: dict) -> list[str]:  # type: ignore[type-arg]
    title, paragraphs = article_3k()
    text = text_of(nd, render(title, paragraphs, "NW0", "（文章来源：证券时报）"))
    size = len((title + text).encode())
    loops = 200
    per_sketch = _cpu(lambda: [nd.sketch(title, text) for _ in range(loops)]) / loops
    stored = len(nd.sketch(title, text).to_bytes())
    ab = [(sketches[p.a.key], sketches[p.b.key]) for p in pairs]
    raw = [(blobs[p.a.key], blobs[p.b.key]) for p in pairs]
    per_pair = _cpu(lambda: [nd.is_duplicate(a, b) for a, b in ab]) / len(ab)
    frm = nd.Sketch.from_bytes
    if hasattr(nd, "duplicate_bytes"):  # what a store calls
        per_blob = _cpu(lambda: [nd.duplicate_bytes(a, b) for a, b in raw]) / len(raw)
    else:
        per_blob = _cpu(lambda: [nd.is_duplicate(frm(a), frm(b)) for a, b in raw]) / len(raw)
    mean_bytes = sum(len(b) for b in blobs.values()) / len(blobs)
    return [
        f"Cost (CPU time of one core, best of 5; the machine is shared): sketch of a {size}-byte article "
        f"**{per_sketch * 1e6:.0f} µs**, stored as {stored} bytes (corpus mean {mean_bytes:.0f} bytes); "
        f"per pair compared **{per_pair * 1e6:.1f} µs** from sketches, **{per_blob * 1e6:.1f} µs** from the stored "
        f"bytes (mean over the corpus's {len(ab)} pairs, all of them candidates by construction).",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--module-file", help="another neardup implementation (same API)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lines = run(load(args.module_file), args.seed, args.scale)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
