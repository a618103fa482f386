"""Properties of the near-duplicate decision, on articles hypothesis writes from a small vocabulary:
a changed number or a template's other name is never a duplicate, a dropped closing paragraph
still is, and clusters do not depend on the order versions arrive in."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_neardup import post

from feeds.core.neardup import NearDupIndex, explain, is_duplicate, sketch

SUBJECTS = ("公募基金", "头部券商", "银行理财", "保险资金", "北向资金", "可转债市场", "光伏企业", "私募机构")
OPENERS = ("记者从多方获悉", "据不完全统计", "最新数据显示", "业内人士透露", "从披露的数据来看", "记者梳理发现")
CLAIMS = (
    "规模较上月增长{}%",
    "年内累计发行{}亿元",
    "参与机构增至{}家",
    "单周净流入{}亿元",
    "占比达到{}%",
    "新增开户{}万户",
)
VIEWS = ("分析人士认为，这一变化反映出市场预期正在改善", "业内普遍预计，相关配套细则有望陆续出台",
         "有受访者表示，短期波动难以改变中长期向好的基本面", "部分机构提示，外部不确定性依然存在")  # fmt: skip
NAMES = ("华信股份", "华兴股份", "北辰科技", "恒远新材", "王明", "李华", "陈思远", "杭州", "成都", "稳健增利债券")

numbers = st.one_of(st.integers(1, 99999).map(str), st.integers(100, 99999).map(lambda n: f"{n // 100}.{n % 100:02d}"))


@st.composite
def articles(draw: st.DrawFn, paragraphs: tuple[int, int] = (4, 7)) -> tuple[str, list[list[str]]]:
    """A title and paragraphs, each paragraph a list of parts: text, or a number (a part of digits)."""
    subject = draw(st.sampled_from(SUBJECTS))
    out = []
    for _ in range(draw(st.integers(*paragraphs))):
        parts: list[str] = []
        for _ in range(draw(st.integers(2, 3))):
            claim = draw(st.sampled_from(CLAIMS))
            head, tail = claim.split("{}")
            parts += [f"{draw(st.sampled_from(OPENERS))}，{subject}{head}", draw(numbers), f"{tail}。"]
            if draw(st.booleans()):
                parts.append(draw(st.sampled_from(VIEWS)) + "。")
        out.append(parts)
    return f"{subject}{draw(st.sampled_from(('加快布局', '持续发力', '稳中有进')))}", out


def render(article: tuple[str, list[list[str]]], drop_last: bool = False) -> tuple[str, str]:
    title, paragraphs = article
    return title, post(["".join(parts) for parts in paragraphs[: len(paragraphs) - drop_last]])


@settings(max_examples=60, deadline=None)
@given(articles(), st.data())
def test_changing_any_one_number_makes_it_another_story(
    article: tuple[str, list[list[str]]], data: st.DataObject
) -> None:
    title, paragraphs = article
    where = [(p, k) for p, parts in enumerate(paragraphs) for k, part in enumerate(parts) if part[0].isdigit()]
    p, k = data.draw(st.sampled_from(where))
    old = paragraphs[p][k]
    new = str(int(old.split(".")[0]) + data.draw(st.integers(1, 500))) + old[len(old.split(".")[0]) :]
    changed = [list(parts) for parts in paragraphs]
    changed[p][k] = new
    a, b = sketch(*render(article)), sketch(*render((title, changed)))
    assert not is_duplicate(a, b) and not is_duplicate(b, a)
    assert f"number {old.rstrip('0').rstrip('.') if '.' in old else old}" in explain(a, b) or "short" in explain(a, b)


TEMPLATE = (
    "{name}：关于召开临时股东大会的通知",
    ["本公司董事会及全体董事保证本公告内容不存在任何虚假记载、误导性陈述或者重大遗漏。",
     "会议采用现场投票与网络投票相结合的表决方式，网络投票通过交易系统和互联网投票系统进行。",
     "股权登记日登记在册的公司全体股东均有权出席股东大会，并可以书面形式委托代理人出席会议和参加表决。",
     "本次股东大会审议的议案已经公司董事会审议通过，具体内容详见公司同日披露的相关公告。",
     "联系人：董事会办公室。", "特此公告。{name}董事会"],
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(NAMES), min_size=2, max_size=2, unique=True), st.data())
def test_a_template_instance_with_another_name_is_another_story(names: list[str], data: st.DataObject) -> None:
    """The boilerplate is the same; the name stands in the title, or in one or more sentences only."""
    title = TEMPLATE[0] if data.draw(st.booleans()) else "关于召开临时股东大会的通知"
    body = list(TEMPLATE[1])
    for at in data.draw(st.lists(st.integers(0, len(body) - 2), max_size=3, unique=True)):
        body[at] = body[at].replace("本公司", "{name}").replace("公司", "{name}", 1)
    assume("{name}" in title + "".join(body))
    a, b = ((title.format(name=n), post([p.format(name=n) for p in body])) for n in names)
    first, second = sketch(*a), sketch(*b)
    assert not is_duplicate(first, second) and not is_duplicate(second, first), explain(first, second)


@settings(max_examples=60, deadline=None)
@given(articles(paragraphs=(4, 8)))
def test_dropping_the_last_paragraph_keeps_a_long_article_a_duplicate(article: tuple[str, list[list[str]]]) -> None:
    a, b = sketch(*render(article)), sketch(*render(article, drop_last=True))
    assert is_duplicate(a, b) and is_duplicate(b, a), explain(a, b)


EDITS = (
    lambda t, ps: (t, post(ps)),
    lambda t, ps: (t + "｜证券时报", post(ps, "（文章来源：证券时报）")),
    lambda t, ps: ("【快讯】" + t, post(["本报记者 王明 北京报道", *ps], None)),
    lambda t, ps: (t, post(ps[:-1], "来源：上海证券报")),
    lambda t, ps: (t, post([ps[0], "图片来源：视觉中国", *ps[1:]])),
    lambda t, ps: (t.replace("，", ","), post([p.replace("，", ", ").replace("%", "％") for p in ps])),
)


@settings(max_examples=25, deadline=None)
@given(st.lists(articles(), min_size=2, max_size=3), st.data())
def test_the_same_versions_in_any_order_give_the_same_clusters(
    stories: list[tuple[str, list[list[str]]]], data: st.DataObject
) -> None:
    """Groups whose versions are all duplicates of each other (and of no other group): whatever the
    order they are added in, each group is one cluster, named after its earliest version (then key)."""
    versions = []  # (key, date, sketch, group)
    for g, (title, paragraphs) in enumerate(stories):
        texts = ["".join(parts) for parts in paragraphs]
        edits = data.draw(st.lists(st.integers(0, len(EDITS) - 1), min_size=2, max_size=4, unique=True))
        for e in edits:
            date = data.draw(st.sampled_from((0.0, 600.0, 3600.0, 7200.0)))  # ties: the key decides
            versions.append((f"k{data.draw(st.integers(0, 999)):03d}-{g}{e}", date, sketch(*EDITS[e](title, texts)), g))
    for x in versions:
        for y in versions:
            assume(is_duplicate(x[2], y[2]) == (x[3] == y[3]))
    expected = {}
    for g in {v[3] for v in versions}:
        head = min((date, key) for key, date, _, group in versions if group == g)[1]
        expected.update({key: head for key, _, _, group in versions if group == g})
    for _ in range(3):
        order = data.draw(st.permutations(versions))
        index = NearDupIndex()
        for key, date, sk, _ in order:
            index.assign(key, sk, date)
        assert {key: index.cluster_of(key) for key, *_ in versions} == expected
