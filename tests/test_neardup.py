"""feeds.core.neardup: which versions are one story.  Every text is made up here, shaped like the posts
(HTML paragraphs, a source line, the infoCode link line); each hard-negative class of the issue
has its test, and the republishers' edits theirs."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.core import neardup
from feeds.core.neardup import NO_SKETCH, NearDupIndex, Sketch, bands, explain, is_duplicate, sketch

ROOT = Path(__file__).resolve().parent.parent
FULL_WIDTH = str.maketrans("0123456789.%", "０１２３４５６７８９．％")
HALF_WIDTH = str.maketrans({"，": ",", "：": ":", "；": ";", "（": "(", "）": ")", "％": "%"})


def post(paragraphs: list[str], source: str | None = "（文章来源：中国证券报）", code: str = "NW2022012500001") -> str:
    """The plain text of a post body as the store sketches it (HTML paragraphs, source, link line)."""
    html = "\n ".join(f"<p>{p}</p>" for p in paragraphs)
    if source:
        html += f'\n <p class="em_media">{source}</p>'
    link = f"http://finews.example/html_News/NewsShare.html?infoCode={code}"
    return neardup.html_to_text(f'{html}\n<p><a href="{link}">{link}</a></p>')


TITLE = "公募基金加快布局：年内新发规模达到1234亿元"
PARAGRAPHS = [
    "记者从多家机构获悉，今年以来公募基金加快布局权益类产品，年内新发规模达到1234亿元，较去年同期增长12.5%。",
    "从产品类型看，指数型基金占比达到38.6%，其中宽基指数产品最受欢迎，参与发行的管理人增至57家。",
    "业内人士表示，随着长期资金持续入场，市场对优质资产的配置需求正在提升，产品结构将进一步优化。",
    "另有基金经理指出，短期市场波动难以改变中长期向好的基本面，投资者宜保持耐心，理性看待净值变化。",
    "据了解，多家管理人已在内部调整投研分工，重点加强对新兴产业和高股息资产的研究覆盖，相关团队扩充至86人。",
    "截至3月末，权益类基金合计规模约为7.6万亿元，在全部公募基金中的占比回升至27.3%。",
]
BASE = sketch(TITLE, post(PARAGRAPHS))

EDITS: dict[str, tuple[str, str]] = {
    "headline suffix ｜": (TITLE + "｜证券时报", post(PARAGRAPHS)),
    "headline suffix _ with digits": (TITLE + "_21世纪经济报道", post(PARAGRAPHS)),
    "headline suffix - outlet·site": (TITLE + " - 上海证券报·中国证券网", post(PARAGRAPHS)),
    "headline label 【快讯】": ("【快讯】" + TITLE, post(PARAGRAPHS)),
    "source line changed": (TITLE, post(PARAGRAPHS, "（文章来源：证券日报）")),
    "source line half-width": (TITLE, post(PARAGRAPHS, "(文章来源:上海证券报)")),
    "source line removed": (TITLE, post(PARAGRAPHS, None)),
    "source line at the top": (TITLE, post(["来源：证券时报网", *PARAGRAPHS], None)),
    "editor line": (TITLE, post([*PARAGRAPHS, "责任编辑：王明"])),
    "editor in brackets": (TITLE, post([*PARAGRAPHS, "（编辑 李华）"])),
    "dateline glued": (TITLE, post(["中证网讯（记者 李华）" + PARAGRAPHS[0], *PARAGRAPHS[1:]])),
    "byline line": (TITLE, post(["本报记者 张宁 北京报道", *PARAGRAPHS])),
    "editor's note": (TITLE, post(["编者按：公募基金布局节奏的变化值得关注。", *PARAGRAPHS])),
    "image caption": (TITLE, post([PARAGRAPHS[0], "（图为某基金公司交易室。新华社记者 刘洋 摄）", *PARAGRAPHS[1:]])),
    "lead-in line": (TITLE, post(["【导读】公募基金加快布局，多项指标表现亮眼", *PARAGRAPHS])),
    "full-width digits": (TITLE.translate(FULL_WIDTH), post([p.translate(FULL_WIDTH) for p in PARAGRAPHS])),
    "half-width punctuation": (TITLE.translate(HALF_WIDTH), post([p.translate(HALF_WIDTH) for p in PARAGRAPHS])),
    "indents and spaces": (f" {TITLE} ", post(["\u3000\u3000" + p.replace("，", "， ") for p in PARAGRAPHS])),
    "paragraphs joined": (TITLE, post([PARAGRAPHS[0] + PARAGRAPHS[1], *PARAGRAPHS[2:]])),
    "paragraph split at a sentence": (TITLE, post([*PARAGRAPHS[:2], *PARAGRAPHS[2].split("，", 1), *PARAGRAPHS[3:]])),
    "hard-wrapped inside a number": (TITLE, post([PARAGRAPHS[0].replace("12.5%", "12.<br>5%"), *PARAGRAPHS[1:]])),
    "thousands separator": (TITLE.replace("1234", "1,234"), post([p.replace("1234", "1,234") for p in PARAGRAPHS])),
    "last paragraph dropped": (TITLE, post(PARAGRAPHS[:-1])),
    "two closing paragraphs dropped": (TITLE, post(PARAGRAPHS[:-2])),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_republication_merges(edit: str) -> None:
    other = sketch(*EDITS[edit])
    assert is_duplicate(BASE, other) and is_duplicate(other, BASE), explain(BASE, other)
    assert set(bands(BASE)) & set(bands(other)), "an index would not even find it"
    reason = explain(BASE, other)
    assert "numbers agree" in reason and ("no substitution" in reason or "same short text" in reason)


def test_two_republications_with_different_edits_merge() -> None:
    a = sketch(
        TITLE + "｜证券时报", post(["中证网讯（记者 李华）" + PARAGRAPHS[0], "图片来源：视觉中国", *PARAGRAPHS[1:]])
    )
    b = sketch("【快讯】" + TITLE.translate(HALF_WIDTH),
               post(["本报记者 张宁", *[p.translate(HALF_WIDTH) for p in PARAGRAPHS[:-1]]], "来源：证券日报"))  # fmt: skip
    assert is_duplicate(a, b), explain(a, b)


FLASH = ("华信股份：前三季度净利润同比增长35.26%", ["华信股份公告，公司前三季度实现净利润12.01亿元，同比增长35.26%。"])


def test_a_flash_republished_verbatim_merges() -> None:
    a = sketch(FLASH[0], post(FLASH[1]))
    assert a.short
    for title, paragraphs, source in [
        (FLASH[0].translate(FULL_WIDTH), [p.translate(FULL_WIDTH) for p in FLASH[1]], "（来源：证券时报）"),
        (FLASH[0].translate(HALF_WIDTH), [p.translate(HALF_WIDTH) for p in FLASH[1]], None),
        (FLASH[0] + "｜中证网", FLASH[1], "文章来源：上海证券报"),
    ]:
        b = sketch(title, post(paragraphs, source, "NW2022012500777"))
        assert is_duplicate(a, b), explain(a, b)
        assert explain(a, b).startswith("the same short text, numbers agree")


def test_a_whole_article_on_one_line_is_not_short() -> None:
    """A remote item's text often has no paragraphs: a long one-line article is compared as a long text."""
    one_line = sketch(TITLE, post(["".join(PARAGRAPHS)]))
    assert not one_line.short and BASE.short is False
    assert is_duplicate(one_line, sketch(TITLE, post(["".join(PARAGRAPHS[:-1])], None)))
    assert is_duplicate(one_line, BASE)  # the same text cut into paragraphs
    flash_line = sketch(FLASH[0], post(FLASH[1]))
    grown = sketch(FLASH[0], post([FLASH[1][0] + "公司表示，本次业绩增长主要源于主营业务收入增加。"]))
    assert flash_line.short and grown.short and not is_duplicate(flash_line, grown)


# ------------------------------------------------------------------ hard negatives, one test per class


def bulletin(source: int, number: int, paragraphs: int = 1) -> Sketch:
    body = ["市场动态：分析人士认为，结构性机会仍将是下一阶段的主线。"]
    body += ["有受访者表示，短期波动难以改变中长期向好的基本面。", "业内普遍预计，相关配套细则有望在年内陆续出台。",
             "多位业内专家指出，行业仍需在风险管理和合规建设上持续投入。"][: paragraphs - 1]  # fmt: skip
    return sketch(f"要闻快讯·源{source:02d}第{number}条：市场动态", post(body, None))


@pytest.mark.parametrize("paragraphs", [1, 4])
def test_bulletins_that_differ_in_one_number_stay_apart(paragraphs: int) -> None:
    """{1} vs {1, 11}: the previous rule (numbers of one all in the other) merged these."""
    first = bulletin(1, 1, paragraphs)
    for other in (bulletin(11, 1, paragraphs), bulletin(1, 11, paragraphs), bulletin(2, 1, paragraphs)):
        assert not is_duplicate(first, other) and not is_duplicate(other, first)
    assert "number 1 vs 11 after '源' in the title" in explain(first, bulletin(11, 1, paragraphs))
    assert is_duplicate(first, bulletin(1, 1, paragraphs))


def notice(company: str) -> tuple[str, str]:
    return (
        f"{company}：关于召开2023年第二次临时股东大会的通知",
        post([f"本公司董事会及全体董事保证本公告内容不存在任何虚假记载、误导性陈述或者重大遗漏。{company}董事会决定召开"
              "2023年第二次临时股东大会，会议采用现场投票与网络投票相结合的表决方式。",
              "本次股东大会审议的议案已经公司董事会审议通过，具体内容详见公司同日披露的相关公告。股权登记日登记在册的"
              "公司全体股东均有权出席股东大会，并可以书面形式委托代理人出席会议和参加表决。",
              f"特此公告。{company}董事会"]),
    )  # fmt: skip


def policy(city: str) -> tuple[str, str]:
    return (
        "多地出台楼市新政：优化住房公积金贷款政策",
        post([f"日前，{city}市住房公积金管理中心发布通知，进一步优化住房公积金使用政策，支持缴存人刚性和改善性住房需求。",
              "通知明确，缴存人家庭购买首套自住住房申请公积金贷款的，最高贷款额度有所提高，多子女家庭可进一步上浮。",
              "业内人士表示，此次调整有助于降低购房成本，稳定市场预期，预计后续还将有更多城市跟进。"]),
    )  # fmt: skip


def appointment(person: str, fund: str = "稳健增利债券") -> tuple[str, str]:
    return (
        f"{fund}基金基金经理变更公告",
        post([f"根据相关法律法规及基金合同的规定，经公司决定，{fund}基金增聘{person}为基金经理，与现任基金经理共同管理本基金。",
              "新任基金经理具有多年证券从业经验，曾任研究员、投资经理等职务，具备基金从业资格。",
              "基金管理人承诺以诚实信用、勤勉尽责的原则管理和运用基金资产，但不保证基金一定盈利，也不保证最低收益。"]),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (notice("华信股份"), notice("华兴股份")),  # one character apart
        (notice("长江电力设备"), notice("北辰科技")),
        (policy("杭州"), policy("成都")),  # the name in the body only: the titles are equal
        (appointment("王明"), appointment("李华")),
        (appointment("王明"), appointment("王明", "价值精选混合")),
    ],
)
def test_a_template_filled_with_another_name_stays_apart(first: tuple[str, str], second: tuple[str, str]) -> None:
    a, b = sketch(*first), sketch(*second)
    assert neardup.jaccard(a, b) >= 0.5  # similar enough: the template alone would merge them
    assert not is_duplicate(a, b) and not is_duplicate(b, a)
    assert "other words in place of" in explain(a, b)


def market_close(day: int, change: str, turnover: int) -> tuple[str, str]:
    return (
        f"沪深两市收盘：沪指涨{change}%",
        post([f"1月{day}日，A股三大指数震荡走高。截至收盘，沪指涨{change}%，报3245.67点。",
              f"两市合计成交{turnover}亿元，较上一交易日有所放大。",
              "分析人士认为，当前市场估值处于历史较低区间，中长期配置价值较为突出，短期仍需关注成交量能变化。"]),
    )  # fmt: skip


def test_the_market_close_of_another_day_stays_apart() -> None:
    a = sketch(*market_close(5, "0.52", 8765))
    assert not is_duplicate(a, sketch(*market_close(6, "0.61", 9012)))
    changed = sketch(*market_close(5, "0.61", 8765))  # one figure changed, everything else the same
    assert not is_duplicate(a, changed)
    assert explain(a, changed).startswith("kept apart: number 0.52 vs 0.61 after '涨' in the title")
    title, text = market_close(5, "0.52", 8765)
    assert is_duplicate(a, sketch(title + "｜证券时报", text.replace("（文章来源：中国证券报）", "")))


def flash(company: str, verb: str = "增持", share: str = "1.50") -> tuple[str, str]:
    return (f"{company}：控股股东拟{verb}不超过{share}%股份",
            post([f"{company}公告，公司控股股东计划在未来6个月内{verb}公司股份，比例不超过总股本的{share}%。"]))  # fmt: skip


def test_flashes_sharing_most_words_stay_apart() -> None:
    a = sketch(*flash("华信股份"))
    for other in (flash("华兴股份"), flash("华信股份", "减持"), flash("华信股份", share="1.80")):
        b = sketch(*other)
        assert not is_duplicate(a, b), explain(a, b)
        assert explain(a, b).startswith("kept apart: a short text")


def test_one_liners_stay_apart() -> None:
    pairs = [
        (("央行开展500亿元逆回购操作", ""), ("央行开展500亿元逆回购操作，中标利率1.8%", "")),
        (("沪指午间收涨0.52%", post(["沪指午间收涨0.52%。"], None)), ("深成指午间收涨0.52%", post(["深成指午间收涨0.52%。"], None))),
        (("北向资金净买入30亿元", post(["据证券时报消息，北向资金净买入30亿元。"], None)),
         ("北向资金净卖出30亿元", post(["据证券时报消息，北向资金净卖出30亿元。"], None))),
    ]  # fmt: skip
    for first, second in pairs:
        a, b = sketch(*first), sketch(*second)
        assert a.short and b.short
        assert not is_duplicate(a, b) and not is_duplicate(b, a), explain(a, b)


OPENING = ("各位投资者早上好，欢迎收看今天的早盘前瞻栏目。我们将为您梳理隔夜外围市场表现、今日重点公司公告以及机构最新"
           "观点，帮助您在开盘前快速把握市场脉络。以下是今天的主要内容。")  # fmt: skip


def test_the_same_opening_on_other_days_stays_apart() -> None:
    title = "早盘前瞻：今日需要关注这些投资机会"
    day1 = sketch(title, post([OPENING, "记者梳理发现，保险资金积极谋变，占比达到53.48%。"]))
    day2 = sketch(title, post([OPENING, "业内人士透露，期货公司交出亮眼成绩单，同比下降17.01%。"]))
    assert not is_duplicate(day1, day2)
    # One day's body is a stock sentence that also ends the other day's: the first is the second
    # with text cut, but all they share is boilerplate without a single figure.
    stock = "部分机构提示，外部不确定性依然存在，投资者宜保持理性。"
    short_day = sketch(title, post([OPENING, stock]))
    long_day = sketch(title, post([OPENING, "与此同时，外汇市场的相关业务也在加速推进。", stock]))
    assert neardup.jaccard(short_day, long_day) >= 0.5
    assert not is_duplicate(short_day, long_day)
    assert "no number" in explain(short_day, long_day)


DISCLAIMER = ("风险提示：本文所载内容仅供参考，不构成任何投资建议，据此操作风险自担。文中涉及的数据和观点来源于公开资料，本网站"
              "对其真实性、准确性和完整性不作任何保证。市场有风险，投资需谨慎，投资者应根据自身的风险承受能力独立作出投资决策。")  # fmt: skip


def test_stories_sharing_a_disclaimer_stay_apart() -> None:
    short_a = sketch("券商加快布局", post(["据不完全统计，头部券商加快布局，新增开户数达73万户。", DISCLAIMER]))
    short_b = sketch("银行理财稳中有进", post(["最新数据显示，银行理财稳中有进，存量规模突破29万亿元。", DISCLAIMER]))
    assert neardup.jaccard(short_a, short_b) >= 0.5  # the disclaimer is most of the text
    assert not is_duplicate(short_a, short_b)
    long_b = sketch("保险资金持续发力", post([*PARAGRAPHS[2:4], "保险资金持续发力，单周净流入51亿元。", DISCLAIMER]))
    assert not is_duplicate(sketch(TITLE, post([*PARAGRAPHS, DISCLAIMER])), long_b)


def test_a_flash_quoted_in_full_stays_apart() -> None:
    quoted = sketch(*flash("华信股份"))
    title, text = flash("华信股份")
    quoting = sketch(title, post([text.split("\n")[0], *PARAGRAPHS[1:4]]))  # even under the flash's own title
    assert not is_duplicate(quoted, quoting) and not is_duplicate(quoting, quoted)


def test_empty_texts_are_not_duplicates() -> None:
    empty = sketch("", "")
    assert empty is NO_SKETCH and bands(empty) == [] and not is_duplicate(empty, empty)
    assert not is_duplicate(sketch("", "（文章来源：中国证券报）\nhttp://a.example/x"), empty)


# ------------------------------------------------------------------ the stored sketch


def test_a_sketch_round_trips_and_a_3_kb_article_stays_well_under_1_kb() -> None:
    long_text = post([p.replace("。", f"，第{i}次统计数据。") for i in range(3) for p in PARAGRAPHS])
    assert 3000 < len((TITLE + long_text).encode()) < 3500
    big = sketch(TITLE, long_text)
    assert len(big.to_bytes()) < 800
    for sk in (BASE, big, sketch(*flash("华信股份")), NO_SKETCH):
        assert Sketch.from_bytes(sk.to_bytes()) == sk
        assert pickle.loads(pickle.dumps(sk)) == sk
        assert Sketch.readable(sk.to_bytes())


def test_an_old_format_sketch_reads_as_no_sketch() -> None:
    """The previous format ("m1"): the shingle count, 128 64-bit values, then the numbers."""
    m1 = array("Q", [731, *range(10**12, 10**12 + 128)]).tobytes() + b"1234\x1f12.5"
    assert Sketch.from_bytes(m1) is NO_SKETCH and not Sketch.readable(m1)
    assert Sketch.from_bytes(bytes(8 * 129)) is NO_SKETCH  # an m1 sketch of an empty text
    assert bands(Sketch.from_bytes(m1)) == [] and not is_duplicate(Sketch.from_bytes(m1), BASE)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_damaged_sketch_never_raises(data: st.DataObject) -> None:
    blob = BASE.to_bytes()
    cut = data.draw(st.integers(0, len(blob)))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(blob) - 1), st.integers(0, 255)), max_size=3))
    damaged = bytearray(blob[:cut])
    for at, value in flips:
        if at < len(damaged):
            damaged[at] = value
    parsed = Sketch.from_bytes(bytes(damaged))
    assert isinstance(parsed, Sketch)
    neardup.judge(parsed, BASE)  # whatever was read, deciding on it never raises
    bands(parsed)
    assert neardup.duplicate_bytes(bytes(damaged), blob) == is_duplicate(parsed, BASE)
    assert Sketch.from_bytes(data.draw(st.binary(max_size=64))) is not None


def test_deciding_from_the_stored_bytes_is_deciding_from_the_sketches() -> None:
    versions = [sketch(*v) for v in EDITS.values()] + [bulletin(1, 1), bulletin(11, 1), bulletin(1, 1, 4)]
    versions += [sketch(*market_close(5, "0.52", 8765)), sketch(*flash("华信股份")), NO_SKETCH]
    for a in versions:
        for b in versions:
            assert neardup.duplicate_bytes(a.to_bytes(), b.to_bytes()) == is_duplicate(a, b)
    assert not neardup.duplicate_bytes(array("Q", [5] * 129).tobytes(), BASE.to_bytes())


def test_bands() -> None:
    keys = bands(BASE)
    assert len(keys) == neardup.BANDS == len(set(keys))
    assert all(key.startswith(f"{neardup.VERSION}:") for key in keys)


_PROBE = "from feeds.core.neardup import sketch, bands\nimport sys\ns = sketch(sys.argv[1], sys.argv[2])\nprint(s.to_bytes().hex(), bands(s))\n"


def test_sketches_do_not_depend_on_the_hash_seed() -> None:
    outputs = set()
    text = post(PARAGRAPHS)
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-c", _PROBE, TITLE, text], env=env, capture_output=True, text=True,
                              check=True)  # fmt: skip
        outputs.add(done.stdout)
    assert outputs == {f"{BASE.to_bytes().hex()} {bands(BASE)}\n"}


def test_normalise_and_numbers() -> None:
    assert (
        neardup.normalise(
            "标题ＥＴＦ｜证券时报", "正文，１２．５％。\n（文章来源：中国证券报）\nhttp://a.example/x?y=1"
        )
        == "标题etf正文125"
    )
    assert neardup.normalise("t", "来源：证券时报 据统计，今年") == "t据统计今年"  # a joined text keeps its sentence
    assert neardup.numbers("", "增长１２．５０％，共1,234亿元，01月") == frozenset({"12.5", "1234", "1"})
    assert neardup.numbers("", "来源：证券时报网 2022-01-25 20:54\n正文") == frozenset()


# ------------------------------------------------------------------ canonical duplicates


def test_choose_picks_the_earliest_dated_duplicate_then_the_smallest_key() -> None:
    copy = sketch(*EDITS["source line changed"])
    later = neardup.Candidate(0, "a", "a", 500.0, BASE)  # added first, dated later
    earlier = neardup.Candidate(5, "z", "z", 100.0, copy)
    tie = neardup.Candidate(7, "m", "m", 100.0, copy)
    far = neardup.Candidate(1, "b", "b", 10.0**9, BASE)
    other = neardup.Candidate(2, "c", "c", 0.0, bulletin(1, 1))  # earliest, but another story
    for order in ([later, earlier, tie, far, other], [other, far, tie, earlier, later]):
        assert neardup.choose(order, BASE, 300.0, 3600.0) is tie
    assert neardup.canonical([later, earlier, tie]) is tie and neardup.canonical([]) is None


def test_an_earlier_dated_version_gives_its_id_to_the_cluster() -> None:
    index = NearDupIndex()
    assert index.assign("late", BASE, 5000.0) == "late"
    assert index.assign("early", sketch(*EDITS["editor line"]), 1000.0) == "early"
    assert index.cluster_of("late") == index.cluster_of("early") == "early"
    assert index.find(sketch(*EDITS["headline suffix ｜"]), 3000.0) == "early"
    assert index.find(sketch(*EDITS["headline suffix ｜"]), 30 * 86400.0, window_seconds=7 * 86400.0) is None
    index.add("late", bulletin(1, 1), 0.0)  # an id is added once
    assert len(index) == 2 and "late" in index and index.cluster_of("unknown") is None


def test_looking_up_a_template_flood_compares_only_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """2,000 daily notices of one fund fill its buckets; a lookup compares only those within its window."""
    compared: list[int] = []
    real = neardup.is_duplicate
    monkeypatch.setattr(neardup, "is_duplicate", lambda a, b, t=0.5: compared.append(1) or real(a, b, t))
    index = NearDupIndex()
    nav = [sketch(f"稳健增利债券（000123）{day}日净值公告", post([
        f"截至第{day}日，稳健增利债券基金单位净值为1.{day:04d}元，日增长率为0.05%。",
        "基金过往业绩不代表其未来表现，投资者应根据自身风险承受能力审慎决策。"])) for day in range(2000)]  # fmt: skip
    for day, sk in enumerate(nav):
        compared.clear()
        assert index.assign(f"n{day}", sk, day * 86400.0, window_seconds=3 * 86400.0) == f"n{day}"
        assert len(compared) <= 3  # the days before it within the window, never the whole history


def test_a_dateline_glued_to_the_first_sentence_is_a_republication_not_a_template() -> None:
    """Outlets prefix the first paragraph with their own dateline ("财经日报讯 ", "新华社北京2月12日电（记者 王明）"):
    still the same story.  A company name ending in 讯 (中兴通讯) is no dateline: two companies' reports stay apart."""
    body = ["国家统计局12日发布数据显示，1月份全国居民消费价格同比上涨0.9%，环比上涨0.4%。",
            "其中，城市上涨0.9%，农村上涨0.7%；食品价格下降3.8%，非食品价格上涨2.0%。",
            "分析人士指出，春节因素带动鲜菜、水果等价格季节性上涨，猪肉价格继续下行。"]  # fmt: skip
    original = neardup.sketch("1月CPI同比上涨0.9%", "\n".join(body))
    for dateline in ("财经日报讯 ", "本报讯（记者 王明）", "新华社北京2月12日电（记者 李华）"):
        copy = neardup.sketch("1月CPI同比上涨0.9%", "\n".join([dateline + body[0], *body[1:]]))
        assert neardup.is_duplicate(original, copy), dateline
    report = "发布2023年年度报告，全年营业收入同比增长12.3%，净利润同比增长8.1%，拟每10股派息3元，研发投入持续加大，海外业务占比提升。"
    a = neardup.sketch("年报发布", "中兴通讯" + report)
    b = neardup.sketch("年报发布", "华为通讯" + report)
    assert not neardup.is_duplicate(a, b)


def test_an_outlet_named_in_the_headline_and_as_the_dateline_is_a_republication() -> None:
    """An outlet whose name has no usual ending (报, 网, 社…) is known by naming itself twice: after the
    headline's separator and as the first paragraph's dateline ("…｜资本观察", "资本观察讯 …").  The same
    dateline without that headline, or another company's name, is still text that differs."""
    body = ["南港物流收到交易所问询函，要求说明第三季度毛利率同比下降6.2个百分点的原因。",
            "公司表示将在10个交易日内回复，并披露主要客户的变动情况。",
            "截至发稿，公司股价报8.41元，全天成交额1.3亿元。"]  # fmt: skip
    title = "南港物流收到问询函"
    original = neardup.sketch(title, "\n".join(body))
    for separator in ("｜", " - ", "_"):
        copy = neardup.sketch(f"{title}{separator}资本观察", "\n".join(["资本观察讯 " + body[0], *body[1:]]))
        assert neardup.is_duplicate(original, copy), separator
    bylined = neardup.sketch(f"{title}｜资本观察", "\n".join(["本报记者 王明", "资本观察讯 " + body[0], *body[1:]]))
    assert neardup.is_duplicate(original, bylined)
    unnamed = neardup.sketch(title, "\n".join(["资本观察讯 " + body[0], *body[1:]]))
    assert not neardup.is_duplicate(original, unnamed)
    a = neardup.sketch(f"{title}｜公告", "\n".join(["中兴通讯" + body[0], *body[1:]]))
    b = neardup.sketch(f"{title}｜公告", "\n".join(["华为通讯" + body[0], *body[1:]]))
    assert not neardup.is_duplicate(a, b)
