"""A fast local HTTP server of synthetic RSS 2.0 feeds, for the polling benchmark.

    python benchmarks/feedserver.py [--feeds 1000] [--items 50] [--port 0] [--seed 1] [--host 127.0.0.1]
                                    [--kind vocabulary|news|shared]

``--kind`` picks the text of the items:

* ``vocabulary`` (the default, as before): every description is drawn from the
  same twenty sentences, so all items share most of their text (a near-duplicate
  matcher's worst case, not news);
* ``news``: distinct articles (``newsgen.py``: a mean estimated Jaccard of ~0.07
  between two of them), and one item in ten of every feed is another outlet's
  republication of an item of feed ``(i + 7) % N`` (headline suffix, an editor's
  or reporter's line, a dateline: a near-duplicate with light edits, its own link
  and infoCode, dated 17 minutes after the original);
* ``shared``: ``news`` with one identical paragraph (a ~170-byte risk notice)
  at the end of every item.

With ``news``/``shared``, ``POST /advance`` (or ``GET /advance``) replaces every
feed by the next *round*: the same shape, all items new (new infoCodes, dated
six hours later per round), new ETags; it answers ``{"round": R}`` once the new
feeds are served.  ``--round R`` starts at round R.

Serves ``--feeds`` feeds at ``/feed/0.xml`` … ``/feed/<N-1>.xml``, each with
``--items`` items shaped like a Chinese financial-news site's feed: titles from a
small vocabulary, about 1 KB of HTML per description, links
``http://news.example.com/html_News/NewsShare.html?infoCode=NW<18 digits>`` unique
per item over all feeds, ``pubDate`` in ``+0800``.  With 50 items a feed is about
65 KB.  Everything depends only on ``--seed`` (and the counts) and is built once,
in memory, before the server listens.

Each feed has a strong ``ETag`` (``"<hash of the body>"``) and a ``Last-Modified``
(its newest item); a request whose ``If-None-Match`` matches (or, without
``If-None-Match``, whose ``If-Modified-Since`` is not older) gets ``304 Not Modified``.

``GET /stats`` answers JSON counts of the feed responses so far by status
(``{"200": …, "304": …, "404": …, "requests": …}``; ``/stats`` itself is not
counted); ``GET /stats?reset=1`` returns the counts and sets them to zero.

Once listening it prints ``READY <port>`` on stdout (so ``--port 0`` picks a free
port).  It runs until killed (SIGTERM/SIGINT).  HTTP/1.1 with keep-alive, one
thread per connection (``ThreadingHTTPServer``), a listen backlog of 1024.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from xml.sax.saxutils import escape

import newsgen

CST = timezone(timedelta(hours=8))
NEWEST = datetime(2024, 3, 15, 18, 30, tzinfo=CST)  # the newest item of any feed
SHARE_URL = "http://news.example.com/html_News/NewsShare.html?infoCode="
DESCRIPTION_BYTES = 1024  # HTML per description (UTF-8), roughly

# The vocabulary of the feeds (written for this server; unlike benchmarks/corpus.py's).
# fmt: off
OUTLETS = (
    "证券导报", "财富周刊", "资本观察", "金融时评", "经济参考", "投资快报", "市场前沿", "期货日刊",
    "基金周报", "银行家", "产经快讯", "理财时报",
)
SUBJECTS = (
    "A股三大指数", "两融余额", "创业板", "国有大行", "中小银行", "券商板块", "公募REITs", "央企控股上市公司",
    "外资机构", "险资", "人民币中间价", "债市", "光伏产业链", "半导体板块", "消费电子", "黄金期货",
    "原油期货", "新发基金", "城投债", "沪港通",
)
ACTIONS = (
    "午后拉升", "缩量整理", "迎来密集调研", "获大额净买入", "再现结构性行情", "呈现企稳迹象", "发布最新数据",
    "加大配置力度", "释放积极信号", "引发市场关注",
)
ANGLES = (
    "业内称估值修复可期", "多家机构发布展望", "短期波动不改长期趋势", "政策红利持续释放", "资金面保持合理充裕",
    "龙头企业率先受益", "监管层明确下一步重点", "投资者情绪回暖",
)
SENTENCES = (
    "截至收盘，上证指数报收于三千点上方，深证成指与创业板指同步上涨，成交量较前一交易日有所放大。",
    "从盘面上看，权重股发挥护盘作用，银行、保险、券商等金融板块集体走强。",
    "有市场人士分析称，近期出台的一系列稳经济举措正在落地见效，市场信心逐步恢复。",
    "某大型公募基金投资总监表示，下阶段将重点关注具备核心竞争力和稳定现金流的行业龙头。",
    "数据显示，本月以来北向资金累计净流入超过百亿元，主要加仓电子、食品饮料和电力设备行业。",
    "央行公开市场今日开展逆回购操作，维护银行体系流动性合理充裕，短端利率小幅回落。",
    "相关研报指出，随着下游需求回暖，产业链各环节的库存去化接近尾声，价格有望企稳。",
    "多家上市公司发布业绩预告，预计上半年净利润同比增长，部分公司增幅超过一倍。",
    "交易所发布通知，进一步规范程序化交易行为，加强对异常交易的实时监控。",
    "业内人士认为，中长期资金入市渠道持续拓宽，有助于引导市场形成价值投资理念。",
    "期货市场方面，主力合约多数上涨，其中有色金属板块涨幅较大，农产品表现相对平淡。",
    "债券市场情绪偏暖，十年期国债收益率下行约两个基点，信用债成交活跃。",
    "据接近监管部门的人士透露，相关配套细则正在加紧制定，预计近期将正式发布。",
    "分析师提醒，短期市场仍可能受到海外加息预期和地缘政治因素的扰动，投资者应控制仓位。",
    "银行业人士表示，今年以来普惠小微贷款投放保持较快增长，贷款利率稳中有降。",
    "记者梳理发现，年内已有数十家上市公司宣布跨界布局新能源、储能及算力等新兴领域。",
    "基金发行市场回暖，多只权益类新基金提前结束募集，认购户数明显增加。",
    "汇率方面，人民币对美元汇率小幅走升，市场对人民币资产的配置需求保持稳定。",
    "公司相关负责人在接受采访时表示，将通过技术创新和精细化管理持续提升盈利能力。",
    "从估值角度看，沪深三百指数市盈率处于近十年较低分位，具备一定的安全边际。",
)
# fmt: on


def _paragraphs(rng: random.Random, outlet: str) -> str:
    """About ``DESCRIPTION_BYTES`` of HTML: 2-4 ``<p>`` paragraphs and the source line."""
    sentences: list[str] = []
    size = 0
    while size < DESCRIPTION_BYTES - 180:
        sentence = rng.choice(SENTENCES)
        sentences.append(sentence)
        size += len(sentence.encode())
    count = min(len(sentences), rng.randint(2, 4))
    cuts = sorted(rng.sample(range(1, len(sentences)), count - 1)) if count > 1 else []
    bounds = [0, *cuts, len(sentences)]
    paragraphs = "".join(f"<p>{''.join(sentences[a:b])}</p>" for a, b in pairwise(bounds))
    return f'{paragraphs}<p class="em_media">（文章来源：{outlet}）</p>'


def build_feed(index: int, items: int, seed: int, offset: int) -> tuple[bytes, datetime]:
    """The RSS bytes of feed ``index`` and the date of its newest item."""
    rng = random.Random(seed * 1_000_003 + index)
    outlet = OUTLETS[index % len(OUTLETS)]
    # Feeds end at different times, up to two days before NEWEST, on whole minutes.
    when = NEWEST - timedelta(minutes=rng.randrange(2 * 24 * 60))
    newest = when
    parts: list[str] = []
    for j in range(items):
        k = index * items + j
        # A bijection on 10-digit numbers (the multiplier is prime to 10): unique per item.
        code = f"NW{when:%Y%m%d}{(k * 7_919_371 + offset) % 10**10:010d}"
        title = f"{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)} {rng.choice(ANGLES)}"
        link = SHARE_URL + code
        parts.append(
            "<item>"
            f"<title>{escape(title)}</title>"
            f"<link>{link}</link>"
            f'<guid isPermaLink="false">{code}</guid>'
            f"<pubDate>{format_datetime(when)}</pubDate>"
            f"<description><![CDATA[{_paragraphs(rng, outlet)}]]></description>"
            "</item>\n"
        )
        when -= timedelta(seconds=rng.randrange(5 * 60, 90 * 60))
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        f"<title>{outlet} · 滚动新闻 {index}</title>\n"
        f"<link>http://news.example.com/list/{index}.html</link>\n"
        f"<description>{outlet}财经要闻第 {index} 栏目</description>\n"
        "<language>zh-cn</language>\n"
        f"<lastBuildDate>{format_datetime(newest)}</lastBuildDate>\n"
        f'<atom:link href="http://news.example.com/feed/{index}.xml" rel="self" type="application/rss+xml"/>\n'
    )
    return (head + "".join(parts) + "</channel>\n</rss>\n").encode(), newest


class Feed:
    """One feed's bytes and validators, precomputed."""

    __slots__ = ("body", "etag", "last_modified", "modified")

    def __init__(self, body: bytes, newest: datetime) -> None:
        self.body = body
        self.etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        self.modified = newest.astimezone(UTC)
        self.last_modified = format_datetime(self.modified, usegmt=True)


def build_feeds(count: int, items: int, seed: int) -> list[Feed]:
    offset = random.Random(seed * 7919 + 17).randrange(10**10)
    return [Feed(*build_feed(i, items, seed, offset)) for i in range(count)]


# One paragraph carried by every item with --kind shared (our own wording).
SHARED_PARAGRAPH = (
    "风险提示：本文内容仅供参考，不构成任何投资建议。市场有风险，投资需谨慎。"
    "文中所涉数据来自公开资料，本平台不对其准确性和完整性作任何保证，读者据此操作，风险自担。"
)
REPUBLISH_EVERY = 10  # one item in ten is a republication of another outlet's story
REPUBLISH_FROM = 7  # feed i republishes stories of feed (i + 7) % N (another outlet: 7 is prime to 12)


def _news_item(code: str, title: str, paragraphs: list[str], when: datetime, outlet: str, shared: bool) -> str:
    body = "".join(f"<p>{escape(text)}</p>" for text in paragraphs)
    if shared:
        body += f"<p>{SHARED_PARAGRAPH}</p>"
    body += f'<p class="em_media">（文章来源：{outlet}）</p>'
    return (
        "<item>"
        f"<title>{escape(title)}</title>"
        f"<link>{SHARE_URL}{code}</link>"
        f'<guid isPermaLink="false">{code}</guid>'
        f"<pubDate>{format_datetime(when)}</pubDate>"
        f"<description><![CDATA[{body}]]></description>"
        "</item>\n"
    )


def build_news_feeds(count: int, items: int, seed: int, shared: bool, round_: int = 0) -> list[Feed]:
    """``count`` feeds of distinct articles (see the module doc), one in ten republished by another outlet."""
    shift = timedelta(hours=6 * round_)
    offset = random.Random(f"{seed}-offset-{round_}").randrange(10**10)
    stories: list[list[tuple[str, list[str], datetime]]] = []
    for i in range(count):
        rng = random.Random(f"{seed}-{round_}-{i}")
        when = NEWEST + shift - timedelta(minutes=rng.randrange(2 * 24 * 60))
        feed: list[tuple[str, list[str], datetime]] = []
        for _ in range(items):
            title, paragraphs = newsgen.article(rng)
            feed.append((title, paragraphs, when))
            when -= timedelta(seconds=rng.randrange(5 * 60, 90 * 60))
        stories.append(feed)
    feeds: list[Feed] = []
    for i in range(count):
        rng = random.Random(f"{seed}-{round_}-{i}-republish")
        outlet = OUTLETS[i % len(OUTLETS)]
        parts: list[str] = []
        newest = stories[i][0][2]
        for j, (title, paragraphs, when) in enumerate(stories[i]):
            k = (round_ * count + i) * items + j
            if count > 1 and j % REPUBLISH_EVERY == REPUBLISH_EVERY // 2:
                # Another outlet's story (an original there: j - 1 is never a republication), republished here.
                other = (i + REPUBLISH_FROM) % count
                title, paragraphs, when = stories[other][j - 1]
                title, paragraphs = newsgen.republish(rng, title, paragraphs, outlet)
                when += timedelta(minutes=17)
                newest = max(newest, when)
            code = f"NW{when:%Y%m%d}{(k * 7_919_371 + offset) % 10**10:010d}"
            parts.append(_news_item(code, title, paragraphs, when, outlet, shared))
        head = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
            f"<title>{outlet} · 滚动新闻 {i}</title>\n"
            f"<link>http://news.example.com/list/{i}.html</link>\n"
            f"<description>{outlet}财经要闻第 {i} 栏目</description>\n"
            "<language>zh-cn</language>\n"
            f"<lastBuildDate>{format_datetime(newest)}</lastBuildDate>\n"
            f'<atom:link href="http://news.example.com/feed/{i}.xml" rel="self" type="application/rss+xml"/>\n'
        )
        feeds.append(Feed((head + "".join(parts) + "</channel>\n</rss>\n").encode(), newest))
    return feeds


def _etag_matches(header: str, etag: str) -> bool:
    """``If-None-Match`` uses the weak comparison: ``W/"x"`` matches ``"x"``."""
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def _not_modified_since(header: str, modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return modified <= since


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {"200": 0, "304": 0, "404": 0}

    def add(self, status: int) -> None:
        with self.lock:
            key = str(status)
            self.counts[key] = self.counts.get(key, 0) + 1

    def snapshot(self, reset: bool = False) -> dict[str, int]:
        with self.lock:
            counts = dict(self.counts)
            if reset:
                self.counts = {key: 0 for key in self.counts}
        counts["requests"] = sum(counts.values())
        return counts


class FeedServer(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True

    def __init__(self, address: tuple[str, int], feeds: list[Feed], advance: Callable[[int], list[Feed]] | None = None,
                 round_: int = 0) -> None:  # fmt: skip
        self.feeds = feeds
        self.stats = Stats()
        self.advance = advance
        self.round = round_
        self.advance_lock = threading.Lock()
        super().__init__(address, Handler)

    def next_round(self) -> int:
        """Replace every feed by the next round's (new items); the round served from now on."""
        assert self.advance is not None
        with self.advance_lock:
            feeds = self.advance(self.round + 1)
            self.feeds = feeds  # one assignment: a request sees the old list or the new one
            self.round += 1
            return self.round


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "feedserver/1.0"
    server: FeedServer

    def log_message(self, format: str, *args: object) -> None:
        pass  # no log line per request

    def _respond(self, status: str, headers: list[tuple[str, str]], body: bytes, send_body: bool = True) -> None:
        """Status line, headers and body in one write (one segment for small answers)."""
        lines = [f"HTTP/1.1 {status}", f"Date: {formatdate(usegmt=True)}", f"Server: {self.server_version}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + body if send_body else head)

    def _serve(self, send_body: bool) -> None:
        path, _, query = self.path.partition("?")
        if path == "/advance" and self.server.advance is not None:
            body = json.dumps({"round": self.server.next_round()}).encode()
            self._respond("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body)
            return
        if path == "/stats":
            body = json.dumps(self.server.stats.snapshot(reset="reset=1" in query.split("&"))).encode()
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            self._respond("200 OK", [*headers, ("Cache-Control", "no-store")], body, send_body)
            return
        feed = None
        if path.startswith("/feed/") and path.endswith(".xml"):
            number = path[len("/feed/") : -len(".xml")]
            if number.isdigit() and (number == "0" or not number.startswith("0")):
                index = int(number)
                if index < len(self.server.feeds):
                    feed = self.server.feeds[index]
        if feed is None:
            self.server.stats.add(404)
            body = b"not found\n"
            headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
            self._respond("404 Not Found", headers, body, send_body)
            return
        validators = [("ETag", feed.etag), ("Last-Modified", feed.last_modified)]
        if_none_match = self.headers.get("If-None-Match")
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_none_match is not None:
            not_modified = _etag_matches(if_none_match, feed.etag)
        else:
            not_modified = if_modified_since is not None and _not_modified_since(if_modified_since, feed.modified)
        if not_modified:
            self.server.stats.add(304)
            self._respond("304 Not Modified", validators, b"", send_body=False)
            return
        self.server.stats.add(200)
        headers = [
            ("Content-Type", "application/rss+xml; charset=utf-8"),
            ("Content-Length", str(len(feed.body))),
            *validators,
        ]
        self._respond("200 OK", headers, feed.body, send_body)

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_POST(self) -> None:
        self._serve(send_body=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve synthetic RSS feeds on 127.0.0.1 for the polling benchmark.")
    parser.add_argument("--feeds", type=int, default=1000, help="number of feeds (/feed/0.xml ...)")
    parser.add_argument("--items", type=int, default=50, help="items per feed")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port; see the READY line)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--kind", choices=("vocabulary", "news", "shared"), default="vocabulary",
                        help="the items' text (see the module doc)")  # fmt: skip
    parser.add_argument("--round", type=int, default=0, help="news/shared: the first round served")
    args = parser.parse_args(argv)
    if args.feeds < 0 or args.items < 1 or args.round < 0:
        parser.error("--feeds and --round must be >= 0 and --items >= 1")
    advance = None
    if args.kind == "vocabulary":
        feeds = build_feeds(args.feeds, args.items, args.seed)
    else:
        shared = args.kind == "shared"

        def advance(round_: int) -> list[Feed]:
            return build_news_feeds(args.feeds, args.items, args.seed, shared, round_)

        feeds = advance(args.round)
    server = FeedServer((args.host, args.port), feeds, advance, args.round)
    # SIGTERM ends serve_forever() cleanly (from another thread, as shutdown() requires).
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
