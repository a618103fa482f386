"""feeds.core.neardup: near-duplicate sketches, the numbers rule, clusters.  All texts are made up here."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.core import neardup
from feeds.core.neardup import NearDupIndex, Sketch, bands, is_duplicate, normalise, similar, sketch

ROOT = Path(__file__).resolve().parent.parent

TITLE = "公募基金加快布局：年内新发规模达到1234亿元"
PARAGRAPHS = [
    "记者从多家机构获悉，今年以来公募基金加快布局权益类产品，年内新发规模达到1234亿元，较去年同期增长12.5%。",
    "从产品类型看，指数型基金占比达到38.6%，其中宽基指数产品最受欢迎，参与发行的管理人增至57家。",
    "业内人士表示，随着长期资金持续入场，市场对优质资产的配置需求正在提升，产品结构将进一步优化。",
    "另有基金经理指出，短期市场波动难以改变中长期向好的基本面，投资者宜保持耐心，理性看待净值变化。",
    "据了解，多家管理人已在内部调整投研分工，重点加强对新兴产业和高股息资产的研究覆盖。",
]
TEXT = "\n".join(PARAGRAPHS)
BASE = sketch(TITLE, TEXT)

FULL_WIDTH = str.maketrans("0123456789.%,:", "０１２３４５６７８９．％，：")

EDITS = {
    "headline suffix": (TITLE + "｜证券时报", TEXT),
    "other suffix": (TITLE + " - 上海证券报·中国证券网", TEXT),
    "source line": (TITLE, TEXT + "\n（文章来源：中国证券报）"),
    "source at top": (TITLE, "来源：证券时报网\n" + TEXT),
    "editor line": (TITLE, TEXT + "\n责任编辑：王明"),
    "dateline": (TITLE, "中证网讯（记者 李华）" + TEXT),
    "added paragraph": (TITLE, TEXT + "\n此前，监管部门已多次表态，将坚持稳字当头、稳中求进。"),
    "dropped last paragraph": (TITLE, "\n".join(PARAGRAPHS[:-1])),
    "dropped middle paragraph": (TITLE, "\n".join(PARAGRAPHS[:2] + PARAGRAPHS[3:])),
    "half-width punctuation": (TITLE.replace("：", ":"), TEXT.replace("，", ",").replace("。", ". ")),
    "full-width digits": (TITLE.translate(FULL_WIDTH), TEXT.translate(FULL_WIDTH)),
    "whitespace": (f"  {TITLE} ", "\u3000\u3000" + TEXT.replace("\n", "\n\n\u3000\u3000") + "\n"),
    "thousands separator": (TITLE.replace("1234", "1,234"), TEXT.replace("1234", "1,234")),
    "url and html": (
        TITLE,
        neardup.html_to_text("".join(f"<p>{p}</p>" for p in PARAGRAPHS)) + "\nhttps://x.example/a?id=99",
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_true_duplicates_merge(edit: str) -> None:
    title, text = EDITS[edit]
    other = sketch(title, text)
    assert is_duplicate(BASE, other), (edit, similar(BASE, other))
    assert set(bands(BASE)) & set(bands(other)), "an index would not even find it"


def test_several_edits_together_merge() -> None:
    title, text = EDITS["headline suffix"][0], EDITS["source line"][1].replace("，", ",")
    assert is_duplicate(BASE, sketch(title, "\n".join(text.split("\n")[:-2] + text.split("\n")[-1:])))


def market_close(day: int, index: float, change: float, turnover: int) -> tuple[str, str]:
    return (
        f"沪深两市收盘：沪指涨{change:.2f}%",
        f"1月{day}日，A股三大指数震荡走高。截至收盘，沪指涨{change:.2f}%，报{index:.2f}点。\n"
        f"两市合计成交{turnover}亿元，较上一交易日有所放大。\n"
        "分析人士认为，当前市场估值处于历史较低区间，中长期配置价值较为突出，短期仍需关注成交量能变化。",
    )


def fund_notice(day: int, nav: str) -> tuple[str, str]:
    return (
        f"稳健增利债券（000123）1月{day}日净值公告",
        f"截至2023年1月{day}日，稳健增利债券基金（基金代码：000123）单位净值为{nav}元，日增长率为0.05%。\n"
        "基金过往业绩不代表其未来表现，投资者应根据自身风险承受能力审慎决策。",
    )


def test_template_stories_of_other_days_stay_apart() -> None:
    a = sketch(*market_close(5, 3245.67, 0.52, 8765))
    b = sketch(*market_close(6, 3262.54, 0.52, 9012))
    assert similar(a, b) >= neardup.DEFAULT_THRESHOLD  # the template alone would merge them
    assert not is_duplicate(a, b)


def test_fund_notice_with_another_figure_stays_apart() -> None:
    a = sketch(*fund_notice(5, "1.0234"))
    assert not is_duplicate(a, sketch(*fund_notice(5, "1.0251")))
    assert not is_duplicate(a, sketch(*fund_notice(6, "1.0234")))
    assert is_duplicate(a, sketch(fund_notice(5, "1.0234")[0] + "_证券日报", fund_notice(5, "1.02340")[1]))


def test_same_topic_different_story_stays_apart() -> None:
    other = [
        "今年以来公募基金加快布局债券类产品，多只中短债基金获得机构资金青睐。",
        "业内人士表示，随着长期资金持续入场，市场对优质资产的配置需求正在提升，产品结构将进一步优化。",
        "有银行理财子公司负责人介绍，客户对低波动产品的需求明显上升，相关产品的申购持续活跃。",
        "分析人士提醒，利率中枢下行后，债券资产的票息保护有所减弱，投资者需关注久期风险。",
    ]
    assert not is_duplicate(BASE, sketch("公募基金加快布局债券类产品", "\n".join(other)))


def test_normalise() -> None:
    assert (
        normalise("标题ＥＴＦ｜证券时报", "正文，１２．５％。\n（文章来源：中国证券报）\nhttp://a.example/x?y=1")
        == "标题etf正文125"
    )
    assert normalise("t", "来源：证券时报 据统计，今年") == "t据统计今年"  # a whitespace-joined text keeps its sentence
    assert normalise("t", "") == "t"


def test_numbers_are_canonical() -> None:
    assert neardup.numbers("", "增长１２．５０％，共1,234亿元，01月") == frozenset({"12.5", "1234", "1"})
    assert neardup.numbers("", "来源：证券时报网 2022-01-25 20:54\n正文") == frozenset()


def test_empty_texts_are_not_duplicates() -> None:
    empty = sketch("", "")
    assert empty.size == 0 and bands(empty) == []
    assert not is_duplicate(empty, sketch("", ""))


def test_short_text_sketch_compares() -> None:
    assert is_duplicate(
        sketch("央行开展逆回购操作", "央行今日开展逆回购操作。"),
        sketch("央行开展逆回购操作｜中证网", "央行今日开展逆回购操作"),
    )


def test_sketch_is_picklable_and_storable() -> None:
    assert pickle.loads(pickle.dumps(BASE)) == BASE
    assert Sketch.from_bytes(BASE.to_bytes()) == BASE
    assert len(BASE.values) == neardup.PERMUTATIONS and all(0 <= v < 2**64 for v in BASE.values)
    keys = bands(BASE)
    assert len(keys) == neardup.BANDS == len(set(keys))
    assert all(k.startswith(f"{neardup.VERSION}:") for k in keys)


_PROBE = (
    "from feeds.core.neardup import sketch, bands\n"
    "import sys\n"
    "s = sketch(sys.argv[1], sys.argv[2])\n"
    "print(s.to_bytes().hex()); print(','.join(bands(s)))\n"
)


def test_sketches_do_not_depend_on_the_hash_seed() -> None:
    outputs = set()
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, TITLE, TEXT], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert outputs.pop() == BASE.to_bytes().hex() + "\n" + ",".join(bands(BASE)) + "\n"


# ------------------------------------------------------------------ clusters


VERSIONS = ["headline suffix", "source line", "dropped last paragraph", "full-width digits", "dateline", "whitespace"]


@settings(max_examples=40, deadline=None)
@given(st.permutations(VERSIONS), st.lists(st.floats(0, 86400), min_size=len(VERSIONS), max_size=len(VERSIONS)))
def test_cluster_id_is_the_first_seen_whatever_the_order(order: list[str], offsets: list[float]) -> None:
    index = NearDupIndex()
    assert index.assign("first", BASE, 1000.0) == "first"
    for name, offset in zip(order, offsets, strict=True):
        assert index.assign(name, sketch(*EDITS[name]), 1000.0 + offset) == "first"
    assert index.find(sketch(*EDITS["editor line"]), 2000.0) == "first"


@settings(max_examples=30, deadline=None)
@given(st.permutations(VERSIONS))
def test_cluster_is_the_earliest_added_version(order: list[str]) -> None:
    index = NearDupIndex()
    for name in order:
        index.assign(name, sketch(*EDITS[name]), 0.0)
    assert {index.cluster_of(name) for name in order} == {order[0]}


def test_window_and_different_stories() -> None:
    index = NearDupIndex()
    index.add("close-5", sketch(*market_close(5, 3245.67, 0.52, 8765)), 0.0)
    assert index.find(sketch(*market_close(6, 3262.54, 0.52, 9012)), 86400.0) is None
    same = sketch(market_close(5, 3245.67, 0.52, 8765)[0] + "｜证券时报", market_close(5, 3245.67, 0.52, 8765)[1])
    assert index.find(same, 3600.0) == "close-5"
    assert index.find(same, 30 * 86400.0, window_seconds=7 * 86400.0) is None
    index.add("close-5", BASE, 0.0)  # an id is added once
    assert len(index) == 1


def test_choose_prefers_the_earliest_added() -> None:
    later = neardup.Candidate(5, "b", "b", 0.0, BASE)
    earlier = neardup.Candidate(2, "a", "a", 50.0, sketch(*EDITS["source line"]))
    far = neardup.Candidate(1, "z", "z", 10**9, BASE)
    assert neardup.choose([later, far, earlier], BASE, 0.0, 3600.0) is earlier


def test_index_is_near_linear_on_a_template_flood() -> None:
    """10,000 daily notices of one fund: one bucket fills, but each lookup sees only its window."""
    index = NearDupIndex()
    sketches = [sketch(*fund_notice(day % 28 + 1, f"1.{day:04d}")) for day in range(2000)]
    start = time.perf_counter()
    for day, sk in enumerate(sketches * 5):
        index.assign(f"n{day}", sk, day * 86400.0, window_seconds=3 * 86400.0)
    assert time.perf_counter() - start < 10
