"""Generate a synthetic corpus of Jekyll-style posts for the build benchmark.

    python benchmarks/corpus.py N OUTDIR [--seed 1] [--categories 30] [--config PATH] [--force]

Writes N post files under ``OUTDIR/<year>/<month>/`` in exactly the form of the
site's real posts (front matter ``layout``/``title``/``date``/``categories``/
``tags``; one-line-per-paragraph HTML body ending with the ``em_media`` source
line; an infoCode autolink; the "back" links), then a config for them
(default ``OUTDIR/../feeds.toml``) whose ``[output] dir`` is ``OUTDIR/../out``.

The output depends only on the arguments: the same arguments give byte-identical
files.  About 3% of the articles are also filed in a second category (a second
file, a few hours later, slightly different title, same infoCode) and about 2%
carry no infoCode at all.  The config file is written last, so its presence means
the corpus is complete.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

TWIN_RATE = 0.03  # articles also filed in a second category (same infoCode)
NO_CODE_RATE = 0.02  # articles without any infoCode
FIRST_DAY = datetime(2019, 1, 1)
SPAN_SECONDS = int((datetime(2024, 1, 1) - FIRST_DAY).total_seconds())
BODY_MIN, BODY_MAX = 1024, 6 * 1024  # body size in bytes (UTF-8)

SHARE_URL = "http://news.example.com/html_News/NewsShare.html?infoCode="
SITE = "//finews.example.com/"

# Category slugs are "<paper>·<site>" in pinyin, titles the same in Chinese.
PAPERS = (
    ("caijing", "财经"),
    ("jinrong", "金融"),
    ("zhengquan", "证券"),
    ("jingji", "经济"),
    ("touzi", "投资"),
    ("chanye", "产业"),
    ("shichang", "市场"),
    ("jijin", "基金"),
    ("qihuo", "期货"),
    ("yinhang", "银行"),
)
KINDS = (("ribao", "日报"), ("shibao", "时报"), ("zhoukan", "周刊"))

# fmt: off
SUBJECTS = (
    "央行", "证监会", "沪深两市", "公募基金", "多家券商", "银行理财", "保险资金", "科创板", "北向资金",
    "国债期货", "新能源板块", "上市公司", "私募基金", "外汇市场", "地方债", "可转债",
)
PREDICATES = (
    "持续发力", "迎来新变化", "表现分化", "加快布局", "规模创新高", "震荡走高", "稳中有进", "政策持续优化",
)
TAILS = (
    "机构看好后市", "专家解读最新动向", "市场预期逐步改善", "长期资金加速入场", "结构性机会显现",
    "风险总体可控", "多方合力稳预期", "配置价值凸显",
)
SLUG_WORDS = (
    "market", "bonds", "funds", "banks", "futures", "ipo", "policy", "liquidity", "yuan", "stocks", "reits",
    "insurance", "brokers", "trade", "energy", "chips",
)
# fmt: on

# The vocabulary the bodies are drawn from (written for this benchmark).
SENTENCES = (
    "市场人士表示，当前宏观政策保持连续性和稳定性，为资本市场平稳运行提供了良好环境。",
    "数据显示，本周两市日均成交额维持在万亿元上方，市场交投情绪总体稳定。",
    "多家机构认为，随着稳增长政策效果逐步显现，企业盈利有望在下半年企稳回升。",
    "从行业表现看，电力设备、有色金属和基础化工板块涨幅居前，医药生物与传媒板块小幅调整。",
    "分析人士指出，外部环境的不确定性仍然较多，投资者需要保持理性，避免盲目追高。",
    "业内专家建议，进一步完善多层次资本市场体系，提升直接融资比重，更好服务实体经济。",
    "有基金经理表示，将继续坚持自下而上精选个股，重点关注业绩确定性较高的优质公司。",
    "银行间市场资金面总体平稳，主要期限回购利率围绕政策利率窄幅波动。",
    "债券市场方面，国债期货全线收涨，长端收益率小幅下行。",
    "监管部门表示，将持续加大对财务造假、内幕交易等违法行为的查处力度，切实维护市场秩序。",
    "公司公告称，本次募集资金将主要用于新建产能项目和补充流动资金，项目达产后有望提升市场份额。",
    "截至发稿时，相关公司股价报收于发行价上方，全天换手率超过百分之三十。",
    "从资金流向看，主力资金净流出规模有所收窄，部分资金开始回流大盘蓝筹股。",
    "有券商研究员表示，当前市场估值处于历史中位数附近，中长期配置价值逐步显现。",
    "保险资金、社保基金等长期资金持续加大权益资产配置，为市场带来稳定的增量资金。",
    "在“双碳”目标引领下，新能源产业链投资热度不减，上下游企业纷纷扩大资本开支。",
    "有私募人士认为，结构性行情仍将延续，选股能力将成为决定收益的关键因素。",
    "人民币汇率在合理均衡水平上保持基本稳定，双向波动特征更加明显。",
    "大宗商品价格高位震荡，中下游企业成本压力有所缓解，但仍需关注输入性通胀风险。",
    "交易所相关负责人表示，将进一步优化发行上市审核流程，提高审核透明度和可预期性。",
    "据了解，多家上市公司近期披露了股份回购计划，合计拟回购金额超过百亿元。",
    "业内人士指出，理财产品净值化转型完成后，投资者需要适应收益波动的新常态。",
    "部分地区出台了支持中小微企业纾困发展的专项措施，涵盖减税降费、融资担保和租金减免等方面。",
    "有经济学家预计，全年经济增速将保持在合理区间，消费和制造业投资有望成为主要拉动力量。",
    "基金业协会数据显示，公募基金管理规模再创历史新高，权益类基金占比稳步提升。",
    "多位分析师提示，部分题材股短期涨幅过大，存在较大的回调风险。",
    "外资机构普遍认为，中国经济长期向好的基本面没有改变，人民币资产仍具吸引力。",
    "在注册制改革持续推进的背景下，市场优胜劣汰机制逐步形成，退市公司数量明显增加。",
    "公司管理层在业绩说明会上表示，今年将加大研发投入，力争在关键核心技术上取得突破。",
    "当日沪指震荡走高，创业板指涨幅超过百分之一，两市逾三千只个股上涨。",
    "期货市场服务实体经济的功能不断增强，越来越多的企业利用套期保值管理价格风险。",
    "有银行人士透露，近期对公贷款需求有所回暖，基础设施和制造业领域的信贷投放明显加快。",
    "市场人士建议投资者关注政策支持方向，以及估值与业绩匹配度较高的细分行业龙头。",
    "可转债市场成交活跃，部分高价转债在强赎公告发布后出现较大回落。",
    "专项债资金加快拨付使用，多个重大项目已进入集中开工阶段。",
    "分析认为，地产行业政策边际改善，行业风险正在逐步出清，但销售端恢复仍需时间。",
    "消费板块近期表现分化，食品饮料走势偏强，而可选消费仍受到需求恢复偏慢的拖累。",
    "上述负责人强调，金融机构要坚守风险底线，审慎开展各类创新业务。",
    "从国际市场看，美股主要股指涨跌不一，欧洲股市普遍收涨，国际油价小幅走高。",
    "业内预计，后续还将有更多符合条件的公司登陆资本市场，融资结构将进一步优化。",
    "一位资深投资者表示，在波动加大的市场环境下，分散投资和长期持有更为重要。",
    "数据显示，今年以来新成立的ETF产品数量明显增加，指数化投资受到越来越多投资者认可。",
)


def categories(count: int) -> list[tuple[str, str]]:
    """``count`` distinct (slug, title) pairs, e.g. ``caijingribao·caijingwang`` / ``财经日报·财经网``."""
    result: list[tuple[str, str]] = []
    round_ = 0
    while len(result) < count:
        extra = str(round_ + 1) if round_ else ""
        for kind, kind_name in KINDS:
            for paper, paper_name in PAPERS:
                slug = f"{paper}{kind}{extra}·{paper}wang{extra}"
                title = f"{paper_name}{kind_name}{extra}·{paper_name}网{extra}"
                result.append((slug, title))
        round_ += 1
    return result[:count]


class Writer:
    """Renders and writes posts; remembers which folders exist."""

    def __init__(self, outdir: Path, cats: list[tuple[str, str]]) -> None:
        self.outdir = outdir
        self.cats = cats
        self.folders: set[tuple[int, int]] = set()
        self.sentences = [s.encode() for s in SENTENCES]
        # Per-category pieces, encoded once.
        self.heads = [f"categories: {slug}\ntags: {name}新闻\n---\n".encode() for slug, name in cats]
        self.sources = [f'<p class="em_media">（文章来源：{name}）</p>\n\n'.encode() for _, name in cats]
        self.backs = [
            f"[返回{name}新闻]({SITE}category/{slug}.html)｜[返回首页]({SITE})".encode() for slug, name in cats
        ]

    def body(self, rng: random.Random) -> list[bytes]:
        """1-6 paragraphs of sentences, ``BODY_MIN``..``BODY_MAX`` bytes in all."""
        target = rng.randint(BODY_MIN, BODY_MAX)
        picked: list[bytes] = []
        size = 0
        while size < target:
            sentence = rng.choice(self.sentences)
            picked.append(sentence)
            size += len(sentence)
        count = max(1, min(6, len(picked), size // 1024 + rng.randint(0, 1)))
        cuts = sorted(rng.sample(range(1, len(picked)), count - 1)) if count > 1 else []
        bounds = [0, *cuts, len(picked)]
        return [b"".join(picked[a:b]) for a, b in pairwise(bounds)]

    def write(
        self, *, when: datetime, cat: int, title: str, slug: str, paragraphs: list[bytes], code: str | None
    ) -> None:
        folder = (when.year, when.month)
        path_dir = self.outdir / f"{when.year:04d}" / f"{when.month:02d}"
        if folder not in self.folders:
            path_dir.mkdir(parents=True, exist_ok=True)
            self.folders.add(folder)
        stamp = when.strftime("%Y-%m-%d %H:%M:%S")
        parts = [
            f'---\nlayout: post\ntitle: "{title}"\ndate: {stamp} +0800\n'.encode(),
            self.heads[cat],
            b"<p>",
            b"</p>\n <p>".join(paragraphs),
            b"</p>",
            self.sources[cat],
        ]
        if code:
            parts.append(f"<{SHARE_URL}{code}>\n\n".encode())
        parts.append(self.backs[cat])
        with open(path_dir / f"{stamp[:10]}-{slug}.md", "wb") as f:
            f.write(b"".join(parts))


def generate(n: int, outdir: Path, *, seed: int, category_count: int) -> None:
    rng = random.Random(seed)
    cats = categories(category_count)
    writer = Writer(outdir, cats)
    # A bijection on 10-digit numbers (the multiplier is prime to 10): unique,
    # random-looking infoCode suffixes without keeping a set.
    offset = random.Random(seed * 7919 + 17).randrange(10**10)
    written = 0
    article = 0
    while written < n:
        when = FIRST_DAY + timedelta(seconds=rng.randrange(SPAN_SECONDS))
        cat = rng.randrange(len(cats))
        subject, predicate = rng.choice(SUBJECTS), rng.choice(PREDICATES)
        tail = rng.randrange(len(TAILS))
        slug = f"{rng.choice(SLUG_WORDS)}-{rng.choice(SLUG_WORDS)}-{article}"
        paragraphs = writer.body(rng)
        twin = len(cats) > 1 and written + 1 < n and rng.random() < TWIN_RATE
        code: str | None = f"NW{when:%Y%m%d}{(article * 7_919_371 + offset) % 10**10:010d}"
        if not twin and rng.random() < NO_CODE_RATE / (1 - TWIN_RATE):
            code = None
        writer.write(
            when=when,
            cat=cat,
            title=f"{subject}{predicate} {TAILS[tail]}",
            slug=slug,
            paragraphs=paragraphs,
            code=code,
        )
        written += 1
        if twin:
            other = (cat + rng.randrange(1, len(cats))) % len(cats)
            later = when + timedelta(seconds=rng.randrange(3600, 6 * 3600))
            writer.write(
                when=later,
                cat=other,
                title=f"{subject}{predicate} {TAILS[(tail + 1) % len(TAILS)]}",
                slug=f"{slug}-b",
                paragraphs=paragraphs,
                code=code,
            )
            written += 1
        article += 1


def toml_str(value: str) -> str:
    """A TOML basic string (JSON escapes are valid TOML escapes)."""
    return json.dumps(value, ensure_ascii=False)


def write_config(config: Path, outdir: Path, category_count: int) -> None:
    base = config.parent.resolve()
    posts = os.path.relpath(outdir.resolve(), base)
    out = os.path.relpath(outdir.resolve().parent / "out", base)
    lines = [
        "# Generated by benchmarks/corpus.py: a synthetic corpus for the build benchmark.",
        "# Relative paths are relative to the folder that holds this file.",
        "",
        "[site]",
        'title = "财经快讯（基准测试）"',
        'url = "https://finews.example.com/"',
        'description = "合成语料：各分类与全部文章的 RSS / Atom 订阅"',
        'language = "zh-CN"',
        'timezone = "Asia/Shanghai"',
        'author = "财经快讯编辑部"',
        "",
        "[output]",
        f"dir = {toml_str(out)}",
        'formats = ["rss", "atom"]',
        "limit = 50",
        "",
        "[categories]",
        *(f"{toml_str(slug)} = {toml_str(name)}" for slug, name in categories(category_count)),
        "",
        "[[sources]]",
        'name = "posts"',
        'type = "posts"',
        f"path = {toml_str(posts)}",
        "",
    ]
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of post files to write")
    parser.add_argument("outdir", type=Path, help="folder for the posts (nested by year/month)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--categories", type=int, default=30, help="number of categories (default 30)")
    parser.add_argument("--config", type=Path, help="where to write the config (default OUTDIR/../feeds.toml)")
    parser.add_argument("--force", action="store_true", help="write into a non-empty OUTDIR (overwrites same names)")
    args = parser.parse_args(argv)
    if args.n < 0 or args.categories < 1:
        parser.error("N must be >= 0 and --categories >= 1")
    outdir: Path = args.outdir
    if outdir.is_dir() and any(outdir.iterdir()) and not args.force:
        print(f"{outdir} is not empty (use --force to write into it anyway)", file=sys.stderr)
        return 2
    outdir.mkdir(parents=True, exist_ok=True)
    config: Path = args.config or outdir.resolve().parent / "feeds.toml"
    generate(args.n, outdir, seed=args.seed, category_count=args.categories)
    write_config(config, outdir, args.categories)
    print(f"wrote {args.n} posts under {outdir} and the config {config}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
