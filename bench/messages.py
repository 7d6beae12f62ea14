"""Direct messages end to end: latency from a /dm reaching the bot to the recipient's
sendMessage at the Telegram Bot API emulator, and what the encryption costs per message.

The emulator listens on 127.0.0.1 and enforces Telegram's limits (30 messages/s overall, 1/s
per chat). Each /dm is a real update through the aiogram dispatcher (durable intake, the
sender's reply recorded with the message); the commit rings the doorbell and the outbox
dispatcher, woken at once, relays it through the real Telegram notifier. A /dm costs two
sends (the sender's "Sent" and the relay), so /dm arrive at --rate per second (default 12:
24 sends/s, inside the 30/s). Goal: p50 < 300 ms, p99 < 1 s.
SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (a scratch database: it is wiped).
Usage: python bench/messages.py [--messages 500] [--pairs 100] [--rate 12]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.emulators

from _scratch import database_name, scratch_database

from bots.commands import Deps
from bots.telegram.app import TelegramBot
from core.clock import SystemClock
from core.storage.cipher import Cipher, install
from scheduler.dispatcher import Dispatcher
from scheduler.limits import Limiter, limits_for
from tests.emulators.telegram_api import TelegramEmulator

FIRST = 7_000_000


def encryption_cost(rounds: int = 20_000) -> tuple[float, float]:
    """Microseconds to encrypt, then to decrypt, one 200-character message."""
    box = Cipher([Cipher.new_key(), Cipher.new_key()])  # two keys, as during a rotation
    text = "Morning run tomorrow at 7? " * 8
    start = time.perf_counter()
    tokens = [box.encrypt(text) for _ in range(rounds)]
    encrypt = (time.perf_counter() - start) / rounds * 1e6
    start = time.perf_counter()
    for token in tokens:
        box.decrypt(token, "bench")
    decrypt = (time.perf_counter() - start) / rounds * 1e6
    return encrypt, decrypt


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--rate", type=float, default=12.0, help="/dm per second")
    args = parser.parse_args()
    install(Cipher([Cipher.new_key()]))
    async with (
        scratch_database() as db,
        TelegramEmulator(bot_username="habit_bench_bot", rate_limits=True) as emu,
    ):
        deps = Deps(db, SystemClock())
        limiter = Limiter(limits_for("telegram"))
        tg = TelegramBot(deps, emu.token, emu.base_url, limiter=limiter)
        dispatcher = Dispatcher(db, tg.notifier, deps.clock, limiter=limiter)
        deps.doorbell.listen(dispatcher.wake)
        users = [emu.user(FIRST + i, f"U{i}", f"user{i:04d}") for i in range(2 * args.pairs)]
        for index, user in enumerate(users):  # everyone opened the bot, at Telegram's pace
            await tg.dp.feed_raw_update(tg.bot, emu.send_text(user, "/start"))
            if index % 12 == 11:
                await asyncio.sleep(1.0)
        await asyncio.sleep(1.5)
        emu.stats.clear()
        sent_before = len(emu.sent)
        worker = asyncio.create_task(dispatcher.run())
        started: dict[int, tuple[float, int]] = {}  # message number -> (t0, recipient chat)
        tasks = []
        t_start = time.monotonic()
        for n in range(args.messages):
            pair = n % args.pairs
            a, b = users[2 * pair], users[2 * pair + 1]
            sender, to = (a, b) if (n // args.pairs) % 2 == 0 else (b, a)
            update = emu.send_text(sender, f"/dm @{to['username']} bench {n} see you")
            delay = t_start + n / args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            started[n] = (time.monotonic(), to["id"])
            tasks.append(asyncio.create_task(tg.dp.feed_raw_update(tg.bot, update)))
        await asyncio.gather(*tasks)
        deadline = time.monotonic() + 30
        arrived: dict[int, float] = {}
        while time.monotonic() < deadline and len(arrived) < args.messages:
            for rec in emu.sent[sent_before:]:
                text = rec.get("text") or ""
                if "bench " in text and "💬" in text:
                    n = int(text.split("bench ", 1)[1].split()[0])
                    if rec["chat_id"] == started[n][1]:
                        arrived.setdefault(n, rec["time"])
            await asyncio.sleep(0.1)
        # The senders' "Sent" replies, in order per sender chat: when each /dm was answered.
        answered: list[float] = []
        waiting: dict[int, list[float]] = {}
        for n in sorted(started):
            pair = n % args.pairs
            a, b = users[2 * pair], users[2 * pair + 1]
            sender = a if (n // args.pairs) % 2 == 0 else b
            waiting.setdefault(sender["id"], []).append(started[n][0])
        for rec in emu.sent[sent_before:]:
            if (rec.get("text") or "").startswith("✉️ Sent") and waiting.get(rec["chat_id"]):
                answered.append((rec["time"] - waiting[rec["chat_id"]].pop(0)) * 1000)
        replies: dict[str, int] = {}
        for rec in emu.sent[sent_before:]:
            text = rec.get("text") or ""
            if "💬" not in text:
                key = text.split("\n")[0][:40]
                replies[key] = replies.get(key, 0) + 1
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await dispatcher.close()
        await tg.drain()
        await tg.close()
    latencies = [(arrived[n] - started[n][0]) * 1000 for n in arrived]
    encrypt, decrypt = encryption_cost()
    print(
        f"bench/messages.py on {database_name()}: {args.messages} /dm between {args.pairs} pairs "
        f"at {args.rate:g}/s through aiogram -> outbox -> Telegram emulator (limits enforced)"
    )
    print(f"  delivered {len(arrived)}/{args.messages}, 429s: {emu.stats['429']}")
    if len(arrived) < args.messages:
        print("  senders' replies:", replies)
    if latencies:
        print(
            f"  /dm -> recipient's sendMessage: p50 {statistics.median(latencies):.1f} ms, "
            f"p99 {pct(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms"
        )
    if answered:
        print(
            f"  /dm -> the sender's 'Sent' reply: p50 {statistics.median(answered):.1f} ms, "
            f"p99 {pct(answered, 0.99):.1f} ms"
        )
    print(
        f"  encryption (Fernet, MultiFernet of 2 keys, 200 chars): encrypt {encrypt:.1f} us, "
        f"decrypt {decrypt:.1f} us per message"
    )


if __name__ == "__main__":
    asyncio.run(main())
