"""A small aiohttp.web service on aiobitstamp: one shared client, live order books.

    python examples/aiohttp_service.py --pair btcusd --pair ethusd --port 8080
    python examples/aiohttp_service.py --emulator            # offline, a local exchange

    GET /ticker/btcusd         best bid and ask, mid and spread, from the live book
    GET /book/btcusd?depth=10  the top levels of the live book
    GET /health                 which books are live

One ``Client`` per process, opened when the app starts and closed when it stops
(``cleanup_ctx``), shared by every request; each pair's book is kept live from the
WebSocket streams (snapshot plus diffs, resynced after any gap), so a request is answered
from memory without calling the exchange.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from aiohttp import web

from aiobitstamp import Client

CLIENT = web.AppKey("client", Client)
BOOKS = web.AppKey("books", dict[str, Any])


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _book(request: web.Request) -> Any:
    pair = request.match_info["pair"]
    book = request.app[BOOKS].get(pair)
    if book is None:
        raise web.HTTPNotFound(
            text=f'{{"error": "no live book for {pair}"}}', content_type="application/json"
        )
    return pair, book


async def ticker(request: web.Request) -> web.Response:
    pair, book = _book(request)
    bid, ask = book.best_bid(), book.best_ask()
    return web.json_response(
        {
            "pair": pair,
            "bid": _text(bid.price if bid else None),
            "ask": _text(ask.price if ask else None),
            "mid": _text(book.mid),
            "spread": _text(book.spread),
            "microtimestamp": book.microtimestamp,
        }
    )


async def order_book(request: web.Request) -> web.Response:
    pair, book = _book(request)
    try:
        depth = int(request.query.get("depth", "10"))
    except ValueError:
        depth = 0
    if not 1 <= depth <= 1000:
        raise web.HTTPBadRequest(
            text='{"error": "depth must be 1 to 1000"}', content_type="application/json"
        )
    return web.json_response(
        {
            "pair": pair,
            "microtimestamp": book.microtimestamp,
            "bids": [[_text(level.price), _text(level.amount)] for level in book.bids(depth)],
            "asks": [[_text(level.price), _text(level.amount)] for level in book.asks(depth)],
        }
    )


async def health(request: web.Request) -> web.Response:
    books = request.app[BOOKS]
    return web.json_response({pair: book.synced for pair, book in books.items()})


def make_app(pairs: list[str], *, base_url: str, ws_url: str) -> web.Application:
    """The service; the client and the books live as long as the app."""

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        client = Client(base_url=base_url, ws_url=ws_url)
        async with client:
            app[CLIENT] = client
            books = {pair: await client.local_order_book(pair) for pair in pairs}
            app[BOOKS] = books
            try:
                yield
            finally:
                for book in books.values():
                    await book.aclose()

    app = web.Application()
    app.cleanup_ctx.append(lifespan)
    app.router.add_get("/ticker/{pair}", ticker)
    app.router.add_get("/book/{pair}", order_book)
    app.router.add_get("/health", health)
    return app


async def serve(args: argparse.Namespace) -> None:
    async with contextlib.AsyncExitStack() as stack:
        base_url, ws_url = args.base_url, args.ws_url
        if args.emulator:
            from aiobitstamp.testing import FakeBitstamp

            exchange = await stack.enter_async_context(FakeBitstamp())
            exchange.run_market()
            base_url, ws_url = exchange.url, exchange.ws_url
        runner = web.AppRunner(make_app(args.pair or ["btcusd"], base_url=base_url, ws_url=ws_url))
        await runner.setup()  # the lifespan runs here: client opened, books live
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, args.host, args.port)
        await site.start()
        port = runner.addresses[0][1]
        print(f"serving on http://{args.host}:{port}", flush=True)
        await asyncio.Event().wait()  # until Ctrl-C or SIGTERM


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", action="append", help="a market to serve (repeatable)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--base-url", default="https://www.bitstamp.net")
    parser.add_argument("--ws-url", default="wss://ws.bitstamp.net")
    parser.add_argument("--emulator", action="store_true", help="serve a local exchange's books")
    args = parser.parse_args()
    import signal

    loop = asyncio.new_event_loop()
    task = loop.create_task(serve(args))
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        loop.run_until_complete(task)
    loop.close()


if __name__ == "__main__":
    main()
