"""A labelled set of synthetic Chinese financial articles for the near-duplicate evaluation.

Every text is made up here from our own sentence parts (no real article is
copied); everything depends only on the seed.  :func:`pairs` returns
``(kind, a, b, same)`` tuples, ``a``/``b`` being ``(title, text)``:

* true duplicates (``same=True``): one story, two republications, each with 1–3
  edits: a headline suffix (``｜证券时报``), a source line (``（文章来源：…）``,
  ``来源：…``, ``责任编辑：…``), a dateline, an added or dropped paragraph,
  punctuation and full-/half-width changes (digits included), whitespace;
* hard negatives (``same=False``): the market-close template on another day
  (other date and figures, same wording), a fund's daily net-value notice on
  another day or with one figure changed, and another story on the same topic
  sharing some of its sentences.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Article = tuple[str, str]
Pair = tuple[str, Article, Article, bool]

# fmt: off
SUBJECTS = ("央行", "证监会", "公募基金", "头部券商", "银行理财", "保险资金", "科创板公司", "北向资金",
            "国债期货", "新能源车企", "光伏企业", "私募机构", "外汇市场", "地方政府专项债", "可转债市场", "半导体行业")
VERBS = ("加快布局", "持续发力", "迎来新变化", "表现分化", "规模创新高", "稳中有进", "加速调整", "获得增量资金")
OPENERS = ("记者从多方获悉", "据不完全统计", "最新数据显示", "业内人士透露", "从近期调研情况看", "据相关负责人介绍")
CLAIMS = ("相关业务规模较上月增长{p}%", "年内累计发行规模达到{n}亿元", "参与机构数量增至{k}家",
          "平均收益率约为{p}%", "前{k}个月合计成交{n}亿元", "市场份额提升{p}个百分点", "新增开户数达{n}万户",
          "单周净流入{n}亿元", "同比下降{p}%", "占比达到{p}%")
VIEWS = ("分析人士认为，这一变化反映出市场对后续政策的预期正在改善",
         "有受访者表示，短期波动难以改变中长期向好的基本面",
         "多位业内专家指出，行业仍需在风险管理和合规建设上持续投入",
         "部分机构提示，外部不确定性依然存在，投资者宜保持理性",
         "业内普遍预计，相关配套细则有望在年内陆续出台",
         "有市场人士建议，应进一步丰富产品供给，满足多元化配置需求",
         "从长期看，资本市场服务实体经济的能力将稳步提升",
         "另有观点认为，结构性机会仍将是下一阶段的主线")
BACKGROUND = ("此前，监管部门已多次表态，将坚持稳字当头、稳中求进",
              "回顾去年全年，相关领域整体保持平稳运行态势",
              "值得注意的是，类似情况在往年同期也曾出现",
              "据了解，相关试点工作已在多个地区展开")
PAPERS = ("证券时报", "中国证券报", "上海证券报", "证券日报", "中证网", "证券时报网")
EDITORS = ("王明", "李华", "张宁", "陈思远", "刘洋", "赵静")
FUNDS = ("稳健增利债券", "价值精选混合", "沪深300指数增强", "科技创新混合", "中短债", "红利低波ETF联接",
         "新能源产业股票", "消费升级混合")
MOVES = ("震荡走高", "窄幅整理", "冲高回落", "低开高走", "小幅收跌", "全线上涨")
SECTORS = ("电力设备", "有色金属", "银行", "医药生物", "传媒", "半导体", "煤炭", "食品饮料")
# fmt: on


def _fill(rng: random.Random, template: str) -> str:
    return template.format(p=f"{rng.uniform(0.1, 30):.2f}", n=f"{rng.randint(12, 9800)}", k=rng.randint(3, 60))


def _paragraph(rng: random.Random, subject: str, shared: list[str] | None = None) -> str:
    parts = [f"{rng.choice(OPENERS)}，{subject}{rng.choice(VERBS)}"]
    parts += [_fill(rng, rng.choice(CLAIMS)) for _ in range(rng.randint(1, 3))]
    parts.append(rng.choice(shared) if shared and rng.random() < 0.5 else rng.choice(VIEWS))
    return "，".join(parts) + "。"


def story(rng: random.Random, subject: str | None = None, shared: list[str] | None = None) -> Article:
    """A general news story of 5–9 paragraphs (about 1–2 KB of UTF-8)."""
    subject = subject or rng.choice(SUBJECTS)
    title = f"{subject}{rng.choice(VERBS)}：{_fill(rng, rng.choice(CLAIMS))}"
    paragraphs = [_paragraph(rng, subject, shared) for _ in range(rng.randint(5, 9))]
    return title, "\n".join(paragraphs)


def market_close(rng: random.Random, month: int, day: int) -> Article:
    """The daily market-close template: same wording every day, other date and figures."""
    sh, cy = rng.uniform(-2.5, 2.5), rng.uniform(-3.5, 3.5)
    word = "涨" if sh >= 0 else "跌"
    title = f"沪深两市收盘：沪指{word}{abs(sh):.2f}%，创业板指{'涨' if cy >= 0 else '跌'}{abs(cy):.2f}%"
    top, low = rng.sample(SECTORS, 2)
    paragraphs = [
        f"{month}月{day}日，A股三大指数{rng.choice(MOVES)}。截至收盘，沪指{word}{abs(sh):.2f}%，"
        f"报{rng.uniform(2800, 3600):.2f}点；深证成指报{rng.uniform(9000, 12500):.2f}点；"
        f"创业板指报{rng.uniform(1800, 2600):.2f}点。",
        f"两市合计成交{rng.uniform(6000, 13000):.0f}亿元，北向资金净{'买入' if rng.random() < 0.5 else '卖出'}"
        f"{rng.uniform(1, 120):.2f}亿元。",
        f"盘面上，{top}板块涨幅居前，{low}板块表现较弱，全市场超过{rng.randint(1000, 4500)}只个股上涨。",
        "分析人士认为，当前市场估值处于历史较低区间，中长期配置价值较为突出，短期仍需关注成交量能变化。",
    ]
    return title, "\n".join(paragraphs)


def fund_notice(rng: random.Random, fund: str, code: str, month: int, day: int) -> Article:
    """A fund's daily net-value notice: nearly all template."""
    nav = rng.uniform(0.8, 3.2)
    title = f"{fund}（{code}）{month}月{day}日净值公告"
    paragraphs = [
        f"截至2023年{month}月{day}日，{fund}基金（基金代码：{code}）单位净值为{nav:.4f}元，"
        f"累计净值为{nav + rng.uniform(0, 1.5):.4f}元，日增长率为{rng.uniform(-2, 2):.2f}%。",
        f"该基金近一个月收益率为{rng.uniform(-6, 6):.2f}%，今年以来收益率为{rng.uniform(-15, 25):.2f}%。",
        "基金过往业绩不代表其未来表现，投资者应认真阅读基金合同和招募说明书，根据自身风险承受能力审慎决策。",
    ]
    return title, "\n".join(paragraphs)


# ------------------------------------------------------------------ edits of a republication


def _suffix(rng: random.Random, title: str, text: str) -> Article:
    sep = rng.choice(("｜", "|", "_", " - ", "——"))
    return f"{title}{sep}{rng.choice(PAPERS)}", text


def _source_line(rng: random.Random, title: str, text: str) -> Article:
    paper = rng.choice(PAPERS)
    line = rng.choice(
        (f"（文章来源：{paper}）", f"(文章来源:{paper})", f"来源：{paper}", f"责任编辑：{rng.choice(EDITORS)}")
    )
    if line.startswith("来源") and rng.random() < 0.5:
        return title, f"{line}\n{text}"
    return title, f"{text}\n{line}"


def _dateline(rng: random.Random, title: str, text: str) -> Article:
    return title, f"{rng.choice(PAPERS)}讯（记者 {rng.choice(EDITORS)}）{text}"


def _add_paragraph(rng: random.Random, title: str, text: str) -> Article:
    paragraphs = text.split("\n")
    paragraphs.insert(rng.randint(1, len(paragraphs)), rng.choice(BACKGROUND) + "。")
    return title, "\n".join(paragraphs)


def _drop_paragraph(rng: random.Random, title: str, text: str) -> Article:
    paragraphs = text.split("\n")
    if len(paragraphs) > 3:  # republishers mostly cut the end, sometimes a middle paragraph
        paragraphs.pop(-1 if rng.random() < 0.7 else rng.randint(1, len(paragraphs) - 2))
    return title, "\n".join(paragraphs)


_WIDTH = str.maketrans("0123456789.%,:;()", "０１２３４５６７８９．％，：；（）")
_PUNCT = str.maketrans({"，": ",", "。": ". ", "：": ":", "；": ";", "（": "(", "）": ")", "、": ","})


def _punctuation(rng: random.Random, title: str, text: str) -> Article:
    if rng.random() < 0.5:
        return title.translate(_PUNCT), text.translate(_PUNCT)
    return title.translate(_WIDTH), text.translate(_WIDTH)


def _whitespace(rng: random.Random, title: str, text: str) -> Article:
    text = text.replace("\n", rng.choice(("\n\n", " ", "\n　　")))
    return f" {title} ", "　　" + text.replace("，", rng.choice(("， ", "，"))) + "\n"


EDITS: dict[str, Callable[[random.Random, str, str], Article]] = {  # in the order they are applied
    "add": _add_paragraph,
    "drop": _drop_paragraph,
    "suffix": _suffix,
    "source": _source_line,
    "dateline": _dateline,
    "punct": _punctuation,
    "space": _whitespace,
}


def republish(rng: random.Random, article: Article, count: int, keep_all: bool = False) -> tuple[list[str], Article]:
    """``article`` with ``count`` different edits; ``keep_all``: no dropped paragraph."""
    names = sorted(rng.sample(sorted(set(EDITS) - ({"drop"} if keep_all else set())), count), key=list(EDITS).index)
    title, text = article
    for name in names:
        title, text = EDITS[name](rng, title, text)
    return names, (title, text)


def pairs(seed: int = 1, duplicates: int = 2000, negatives: int = 2000) -> list[Pair]:
    """``duplicates`` true pairs and ``negatives`` hard negatives (a third of each kind)."""
    rng = random.Random(seed)
    out: list[Pair] = []
    for i in range(duplicates):
        kind = i % 4
        if kind == 0:
            base = story(rng)
        elif kind == 1:
            base = market_close(rng, rng.randint(1, 12), rng.randint(1, 28))
        elif kind == 2:
            base = fund_notice(rng, rng.choice(FUNDS), f"{rng.randint(1, 999999):06d}", rng.randint(1, 12), 15)
        else:  # the wire text itself against one republication
            base = story(rng)
            names, edited = republish(rng, base, rng.randint(1, 3))
            out.append(("dup:" + "+".join(names), base, edited, True))
            continue
        names_a, a = republish(rng, base, rng.randint(1, 3))
        names_b, b = republish(rng, base, rng.randint(1, 3))
        out.append(("dup:" + "+".join(sorted(set(names_a) | set(names_b))), a, b, True))
    for i in range(negatives):
        kind = i % 3
        month, day = rng.randint(1, 12), rng.randint(1, 27)
        if kind == 0:
            a, b = market_close(rng, month, day), market_close(rng, month, day + 1)
            label = "neg:market-other-day"
        elif kind == 1:
            fund, code = rng.choice(FUNDS), f"{rng.randint(1, 999999):06d}"
            state = rng.getstate()
            a = fund_notice(rng, fund, code, month, day)
            if rng.random() < 0.5:
                b = fund_notice(rng, fund, code, month, day + 1)
                label = "neg:fund-other-day"
            else:  # same day, the same draws except the net value
                rng.setstate(state)
                b = fund_notice(rng, fund, code, month, day)
                nav = b[1].split("单位净值为", 1)[1][:6]
                b = (b[0], b[1].replace(nav, f"{float(nav) + 0.0013:.4f}", 1))
                label = "neg:fund-other-figure"
        else:
            subject = rng.choice(SUBJECTS)
            shared = [rng.choice(VIEWS) for _ in range(3)]
            a, b = story(rng, subject, shared), story(rng, subject, shared)
            label = "neg:same-topic"
        # Negatives are republished too: edits must not make different stories merge.  Not
        # by dropping a paragraph: without the one that differs they would be the same text.
        _, a = republish(rng, a, rng.randint(0, 2), keep_all=True)
        _, b = republish(rng, b, rng.randint(0, 2), keep_all=True)
        out.append((label, a, b, False))
    return out
