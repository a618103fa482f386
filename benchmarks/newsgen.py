"""Synthetic news articles that are distinct from one another, for the polling benchmarks.

The vocabulary of ``feedserver.py``'s default feeds is twenty sentences, so every
item there shares most of its 4-character shingles with every other one: the
worst case of a near-duplicate matcher, not news.  Here an article is made of
sentences whose slots (companies, people, places, sectors, figures, dates) are
drawn from large combinatorial pools, so two different articles share about as
little text as two real ones on related subjects do (a mean estimated Jaccard
of a few per cent, see :func:`main`), while a republication (:func:`republish`)
is the same story with the light edits another outlet makes.

Everything is our own made-up text and depends only on the ``random.Random``
passed in.

    python benchmarks/newsgen.py [--articles 2000]    # prints similarity statistics
"""

from __future__ import annotations

import random

# fmt: off
REGIONS = ("北京", "上海", "深圳", "广州", "杭州", "成都", "武汉", "南京", "苏州", "天津", "重庆", "西安",
           "长沙", "郑州", "青岛", "厦门", "合肥", "济南", "宁波", "福州", "昆明", "沈阳", "大连", "无锡",
           "东莞", "佛山", "南昌", "贵阳", "太原", "石家庄", "哈尔滨", "长春", "南宁", "海口", "兰州", "乌鲁木齐")
TRADES = ("科技", "能源", "医药", "电子", "新材", "环保", "物流", "食品", "机械", "化工", "汽车", "传媒",
          "农业", "地产", "建工", "水务", "航运", "通信", "软件", "芯片", "光电", "生物", "电气", "矿业",
          "纺织", "家居", "文旅", "教育", "港口", "钢铁", "纸业", "储能")
FORMS = ("股份", "集团", "控股", "实业", "发展", "投资", "创新", "智造")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉晶红飞鑫波斌宇浩凯健俊帆帅旭宁亮林峰琳冬雪慧建国志海燕云春梅博文晨阳颖欣然子涵思远"  # noqa: E501
ROLES = ("董事长", "总经理", "首席经济学家", "研究所所长", "投资总监", "副总裁", "分析师", "基金经理", "董秘",
         "首席策略师", "财务总监", "行业研究员", "合伙人", "风控负责人")
INSTITUTIONS = ("证券", "基金", "资管", "信托", "期货", "银行", "保险", "研究院", "咨询", "资本")
SECTORS = ("半导体", "光伏", "风电", "储能", "锂电池", "创新药", "医疗器械", "白酒", "乳制品", "家电", "消费电子",
           "军工", "航空", "航运", "港口", "煤炭", "有色金属", "黄金", "稀土", "钢铁", "水泥", "建材", "化纤",
           "养殖", "种业", "旅游", "酒店", "影视", "游戏", "云计算", "算力", "数据中心", "人工智能", "机器人",
           "工业母机", "汽车零部件", "新能源车", "充电桩", "氢能", "核电", "电网设备", "特高压", "城投",
           "券商", "保险", "城商行", "农商行", "房地产", "物业", "跨境电商", "快递", "冷链", "预制菜")
INSTRUMENTS = ("可转债", "公司债", "中期票据", "定增", "配股", "回购", "股权激励", "员工持股计划", "分拆上市",
               "并购重组", "增持", "减持", "质押", "解禁", "分红", "送转", "债券回售", "资产证券化")
EVENTS = ("签订战略合作协议", "中标重大项目", "披露年度报告", "发布业绩预告", "收到监管问询函", "完成工商变更",
          "获得政府补助", "新建生产基地", "投产新生产线", "设立全资子公司", "引入战略投资者", "调整募投项目",
          "通过高新技术企业认定", "获得发明专利授权", "拟开展套期保值业务", "召开业绩说明会", "更换会计师事务所",
          "获得药品注册证书", "签署框架协议", "终止筹划重大事项", "获得海外订单", "启动产能扩张计划")
TRENDS = ("同比增长", "同比下降", "环比增长", "环比下降", "较上年末增加", "较上年末减少", "较年初提升", "较上季度回落")
METRICS = ("营业收入", "归母净利润", "扣非净利润", "经营活动现金流", "毛利率", "研发投入", "总资产", "订单金额",
           "出货量", "产能利用率", "在手订单", "海外收入", "合同负债", "存货", "应收账款", "资产负债率")
REASONS = ("下游需求回暖", "原材料价格回落", "产品结构持续优化", "海外市场拓展顺利", "新产能逐步释放",
           "行业竞争加剧", "汇率波动带来汇兑损失", "计提资产减值准备", "费用管控成效显现", "主要客户订单延期",
           "募投项目陆续达产", "政策补贴退坡", "销售渠道下沉", "数字化转型提速", "季节性因素影响")
OUTLOOKS = ("公司表示将继续加大研发投入", "管理层预计下半年经营将逐步改善", "公司称将审慎评估相关风险",
            "公司计划在未来三年内完成产能布局", "公司提示投资者注意二级市场交易风险", "相关事项尚需股东大会审议",
            "该项目预计将对公司未来业绩产生积极影响", "公司表示目前生产经营一切正常", "后续进展将及时履行信息披露义务",
            "机构普遍上调了对公司的盈利预测", "多家券商维持对该公司的买入评级")
MARKET = ("当日{co}股价{move}{p}%，报收{price}元，成交额{n}亿元。",
          "截至发稿，{co}总市值约{n}亿元，年内累计{move}{p}%。",
          "{sector}板块当日整体{move}{p}%，板块内{k}只个股涨停。", "近{k}个交易日，北向资金累计{flow}{co}约{n2}亿元。",
          "融资余额方面，{co}最新融资余额为{n2}亿元，较前一交易日{flow2}{n3}万元。")
MOVES = ("上涨", "下跌", "微涨", "微跌", "大涨", "收跌", "收涨")
FLOWS = ("增持", "减持", "净买入", "净卖出")
FLOWS2 = ("增加", "减少")
# fmt: on


def company(rng: random.Random) -> str:
    return rng.choice(REGIONS) + rng.choice(TRADES) + rng.choice(FORMS)


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def institution(rng: random.Random) -> str:
    return (
        rng.choice(REGIONS)
        + rng.choice(
            (
                "国信",
                "华泰",
                "中信",
                "招商",
                "广发",
                "兴业",
                "东方",
                "申万",
                "国联",
                "长江",
                "海通",
                "光大",
                "平安",
                "银河",
                "财通",
                "东吴",
                "方正",
            )
        )
        + rng.choice(INSTITUTIONS)
    )


def _figures(rng: random.Random) -> dict[str, str]:
    return {
        "p": f"{rng.uniform(0.1, 45):.2f}",
        "n": f"{rng.uniform(1, 3000):.2f}",
        "n2": f"{rng.uniform(0.1, 80):.2f}",
        "n3": f"{rng.randint(100, 99999)}",
        "k": str(rng.randint(2, 60)),
        "price": f"{rng.uniform(2, 300):.2f}",
        "y": str(rng.choice((2021, 2022, 2023))),
        "q": rng.choice(("一季度", "上半年", "前三季度", "全年")),
    }


def _sentence(rng: random.Random, co: str, sector: str) -> str:
    f = _figures(rng)
    kind = rng.randrange(7)
    if kind == 0:
        return (
            f"公告显示，{co}{f['y']}年{f['q']}实现{rng.choice(METRICS)}{f['n']}亿元，{rng.choice(TRENDS)}{f['p']}%，"
            f"主要系{rng.choice(REASONS)}所致。"
        )
    if kind == 1:
        return f"{co}{rng.choice(EVENTS)}，涉及金额约{f['n']}亿元，占公司最近一期经审计净资产的{f['p']}%。"
    if kind == 2:
        return (
            f"{institution(rng)}{rng.choice(ROLES)}{person(rng)}表示，{sector}行业{rng.choice(REASONS)}，"
            f"{rng.choice(OUTLOOKS)}。"
        )
    if kind == 3:
        return f"{co}拟发行{rng.choice(INSTRUMENTS)}，募集资金不超过{f['n2']}亿元，期限{f['k']}个月。"
    if kind == 4:
        return rng.choice(MARKET).format(co=co, sector=sector, move=rng.choice(MOVES), flow=rng.choice(FLOWS),
                                         flow2=rng.choice(FLOWS2), **f)  # fmt: skip
    if kind == 5:
        return (
            f"{rng.choice(OUTLOOKS)}，{co}{rng.choice(ROLES)}{person(rng)}在接受{rng.choice(REGIONS)}记者采访时如是说。"
        )
    return (
        f"据{institution(rng)}统计，{f['y']}年以来{sector}领域共有{f['k']}家公司{rng.choice(EVENTS)}，"
        f"合计规模{f['n']}亿元。"
    )


def article(rng: random.Random, size: int = 1000) -> tuple[str, list[str]]:
    """A title and its paragraphs (plain text, about ``size`` bytes of UTF-8 in all)."""
    co, sector = company(rng), rng.choice(SECTORS)
    title = rng.choice(
        (
            f"{co}{rng.choice(EVENTS)} {sector}板块{rng.choice(MOVES)}",
            f"{co}：{rng.choice(METRICS)}{rng.choice(TRENDS)}{rng.uniform(1, 90):.1f}%",
            f"{sector}景气度{rng.choice(('回升', '分化', '承压', '改善'))} {co}{rng.choice(EVENTS)}",
            f"{rng.choice(REGIONS)}{sector}产业链调研："
            f"{co}{rng.choice(('订单饱满', '扩产提速', '价格企稳', '库存去化'))}",
        )
    )
    paragraphs: list[str] = []
    total = 0
    while total < size:
        sentences = [_sentence(rng, co, sector) for _ in range(rng.randint(2, 4))]
        text = "".join(sentences)
        paragraphs.append(text)
        total += len(text.encode())
    return title, paragraphs


def republish(rng: random.Random, title: str, paragraphs: list[str], outlet: str) -> tuple[str, list[str]]:
    """Another outlet's copy of a story: a headline suffix, an editor's line, maybe a dateline or punctuation."""
    title = f"{title}{rng.choice(('｜', ' - ', '_'))}{outlet}"
    paragraphs = list(paragraphs)
    edits = rng.sample(("dateline", "editor", "comma", "reporter"), rng.randint(1, 2))
    if "dateline" in edits:
        paragraphs[0] = f"{outlet}讯 {paragraphs[0]}"
    if "editor" in edits:
        paragraphs.append(f"责任编辑：{person(rng)}")
    if "comma" in edits:
        paragraphs[-1] = paragraphs[-1].replace("，", ",", 2)
    if "reporter" in edits:
        paragraphs.insert(0, f"本报记者 {person(rng)}")
    return title, paragraphs


def main() -> None:
    """Print the estimated Jaccard of unrelated articles and of republications (needs the feeds package)."""
    import argparse
    import statistics

    from feeds.core import neardup

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--articles", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(1)
    made = [article(rng) for _ in range(args.articles)]
    sketches = [neardup.sketch(t, "\n".join(p)) for t, p in made]
    unrelated = [neardup.jaccard(sketches[i], sketches[i + 1]) for i in range(0, len(sketches) - 1, 2)]
    copies = [
        neardup.jaccard(
            sketches[i], neardup.sketch(*(lambda t, p: (t, "\n".join(p)))(*republish(rng, *made[i], "财经日报")))
        )
        for i in range(0, len(made), 4)
    ]
    merged = sum(1 for i in range(0, len(made), 4) if neardup.is_duplicate(sketches[i], neardup.sketch(
        *(lambda t, p: (t, "\n".join(p)))(*republish(rng, *made[i], "证券晚报")))))  # fmt: skip
    buckets: dict[str, int] = {}
    for sk in sketches:
        for key in neardup.bands(sk):
            buckets[key] = buckets.get(key, 0) + 1
    shared = sum(1 for v in buckets.values() if v > 1)
    print(f"unrelated pairs: mean J {statistics.mean(unrelated):.3f}, max {max(unrelated):.3f}")
    print(f"republications: mean J {statistics.mean(copies):.3f}, min {min(copies):.3f}; merged {merged}/{len(copies)}")
    print(f"LSH buckets shared by 2+ of {len(made)} unrelated articles: {shared} of {len(buckets)}")
    print(f"bytes per article: {statistics.mean(len(''.join(p).encode()) for _, p in made):.0f}")


if __name__ == "__main__":
    main()
