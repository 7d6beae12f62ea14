"""The console adapter driven like a terminal: lines in, printed text out."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bots.commands import Deps
from bots.console.repl import CLOCK_FILE, HELP, Console, restore_clock
from core.clock import FakeClock
from tests.sweep import SETUP, examples, problems

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make(deps: Deps, clock: FakeClock) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(deps, clock, out=out), out


async def lines(console: Console, out: io.StringIO, *typed: str) -> str:
    """Type lines; returns what they printed."""
    start = out.tell()
    for line in typed:
        assert await console.handle(line)
    out.seek(start)
    printed = out.read()
    return printed


async def test_commands_print_replies(deps: Deps, clock: FakeClock) -> None:
    console, out = make(deps, clock)
    printed = await lines(console, out, "/start", "/habit add Read every=day")
    assert "Hi Me" in printed and "Added Read: every day." in printed
    assert "[1] ✅ Done today" in printed


async def test_typing_a_button_number_presses_it(deps: Deps, clock: FakeClock) -> None:
    console, out = make(deps, clock)
    await lines(console, out, "/habit add Read", "/habit add Run", "/done")
    assert [b.label for b in console.buttons] == ["✅ Read", "✅ Run"]
    printed = await lines(console, out, "2")
    assert "Run done for today" in printed and "+10 coins" in printed
    printed = await lines(console, out, "/today")
    assert "✅ Run" in printed and "⬜ Read" in printed
    assert "Read done for today" in await lines(console, out, "1")


async def test_a_bad_button_number(deps: Deps, clock: FakeClock) -> None:
    console, out = make(deps, clock)
    await lines(console, out, "/habit add Read", "/done")
    assert "No button 5; there is only 1." in await lines(console, out, "5")
    assert "No button 0" in await lines(console, out, "0")
    # A non-ASCII digit is just text, not a button number.
    assert "Commands start with /" in await lines(console, out, "²")
    assert "0/1 done" in await lines(console, out, "/today")


async def test_a_number_without_buttons_is_text(deps: Deps, clock: FakeClock) -> None:
    console, out = make(deps, clock)
    await lines(console, out, "/wallet")
    assert console.buttons == []
    assert "Commands start with /" in await lines(console, out, "1")


async def test_non_command_text_is_explained(deps: Deps, clock: FakeClock) -> None:
    console, out = make(deps, clock)
    assert "Commands start with /. Send /help" in await lines(console, out, "hello bot")
    assert await lines(console, out, "   ") == ""
    await lines(console, out, ":group gym")
    assert "Commands start with / (try /help)" in await lines(console, out, "hello all")


async def test_as_switches_users(deps: Deps, clock: FakeClock) -> None:
    console, out = make(deps, clock)
    await lines(console, out, "/habit add Read")
    assert "You are now bob." in await lines(console, out, ":as Bob")
    assert console.prompt() == "bob@private> "
    assert "No habits yet" in await lines(console, out, "/habits")
    assert "Bob's wallet" in await lines(console, out, "/wallet")
    await lines(console, out, ":as me")
    assert "Read" in await lines(console, out, "/habits")


async def test_group_and_private(deps: Deps, clock: FakeClock) -> None:
    console, out = make(deps, clock)
    assert "In group club as an admin." in await lines(console, out, ":group club admin")
    assert console.prompt() == "me@#club*> "
    assert console.group == "club" and console.admin
    assert "This group is on Habitbot" in await lines(console, out, "/start")
    assert "In group club." in await lines(console, out, ":group club")
    assert not console.admin and console.prompt() == "me@#club> "
    assert "Back in your private chat." in await lines(console, out, ":private")
    assert console.group is None and console.prompt() == "me@private> "
    assert "1. Set your time zone" in await lines(console, out, "/start")


async def test_time_moves_forward_only(deps: Deps, clock: FakeClock) -> None:
    console, out = make(deps, clock)
    assert "It is now 2026-03-03 09:00 UTC." in await lines(console, out, ":time +1d")
    assert clock.now() == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    await lines(console, out, ":time +3h", ":time +15m")
    assert clock.now() == datetime(2026, 3, 3, 12, 15, tzinfo=UTC)
    assert "2026-03-29 08:00" in await lines(console, out, ":time 2026-03-29T08:00")
    assert clock.now() == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    printed = await lines(console, out, ":time 2026-03-29T09:00+02:00")  # 07:00 UTC: back
    assert "only moves forward" in printed
    assert "only moves forward" in await lines(console, out, ":time 2020-01-01")
    assert clock.now() == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert "Use :time +1d" in await lines(console, out, ":time yesterday")
    assert "Use :time +1d" in await lines(console, out, ":time -1d")


@pytest.mark.parametrize("jump", [":time +99999999999d", ":time 9999-12-31T23:59", ":time +367d"])
async def test_an_absurd_time_jump_is_refused_clearly(
    deps: Deps, clock: FakeClock, jump: str
) -> None:
    # Before: +99999999999d raised OverflowError; 9999-12-31 ran ticks for 7,000 years.
    seen: list[datetime] = []

    async def on_time(target: datetime) -> None:
        seen.append(target)

    out = io.StringIO()
    console = Console(deps, clock, out=out, on_time=on_time)
    assert "at most 366 days at a time" in await lines(console, out, jump)
    assert seen == [] and clock.now() == START
    assert "It is now 2027-03-03 09:00 UTC." in await lines(console, out, ":time +366d")


async def test_the_clock_survives_a_restart(deps: Deps, clock: FakeClock, tmp_path: Path) -> None:
    # Before: a restart reset the clock while the data stayed in the future.
    saved = tmp_path / CLOCK_FILE
    out = io.StringIO()
    console = Console(deps, clock, out=out, clock_file=saved)
    await lines(console, out, "/habit add Read", "/done Read", ":time +1d")
    restarted = FakeClock(restore_clock(saved, START))
    assert restarted.now() == START + timedelta(days=1)
    console = Console(Deps(deps.db, restarted), restarted, out=out)
    assert "Streak: 2 days" in await lines(console, out, "/done Read")
    # Real time past the saved clock wins; a missing or broken file leaves real time.
    later = START + timedelta(days=30)
    assert restore_clock(saved, later) == later
    assert restore_clock(tmp_path / "nothing.txt", START) == START
    saved.write_text("garbage")
    assert restore_clock(saved, START) == START


async def test_as_another_user_drops_the_admin_flag(deps: Deps, clock: FakeClock) -> None:
    console, out = make(deps, clock)
    await lines(console, out, ":as boss", ":group gym admin")
    await lines(console, out, "/challenge new Move Week days=7 habits=Walk")
    assert "You are now ann (in group gym, a member)." in await lines(console, out, ":as ann")
    assert not console.admin and console.prompt() == "ann@#gym> "
    refused = await lines(console, out, "/challenge end 1")  # before: ann ended it
    assert "has ended" not in refused


async def test_time_travel_shows_in_streaks(deps: Deps, clock: FakeClock) -> None:
    console, out = make(deps, clock)
    await lines(console, out, "/habit add Read", "/done Read", ":time +1d")
    assert "Streak: 2 days" in await lines(console, out, "/done Read")


async def test_time_runs_the_catch_up_hook(deps: Deps, clock: FakeClock) -> None:
    seen: list[datetime] = []

    async def on_time(target: datetime) -> None:
        seen.append(target)

    out = io.StringIO()
    console = Console(deps, clock, out=out, on_time=on_time)
    await console.handle(":time +1h")
    assert seen == [datetime(2026, 3, 2, 10, 0, tzinfo=UTC)]


async def test_unknown_meta_command_prints_help(deps: Deps, clock: FakeClock) -> None:
    console, out = make(deps, clock)
    assert HELP in await lines(console, out, ":what")
    assert HELP in await lines(console, out, ":as")  # :as needs a name


async def test_quit(deps: Deps, clock: FakeClock) -> None:
    console, _ = make(deps, clock)
    assert await console.handle(":quit") is False
    assert await console.handle(":q") is False
    assert await console.handle(":exit") is False


async def test_images_are_saved_and_their_text_shown(
    deps: Deps, clock: FakeClock, tmp_path: object
) -> None:
    from pathlib import Path

    out = io.StringIO()
    console = Console(deps, clock, out=out, image_dir=Path(str(tmp_path)) / "img")
    await console.handle("/habit add Read")
    await console.handle("/done Read")
    await console.handle("/stats")
    printed = out.getvalue()
    assert "Mo " in printed and "Su " in printed  # the text heatmap
    saved = Path(str(tmp_path)) / "img" / "heatmap.png"
    assert f"(image saved to {saved})" in printed
    assert saved.read_bytes().startswith(b"\x89PNG")


async def test_script_from_a_non_tty_stdin_echoes_prompts_and_replies(
    deps: Deps, clock: FakeClock
) -> None:
    script = io.StringIO(
        "/start\n"
        "/habit add Read every=day\n"
        "\n"
        "/done Read\n"
        ":time +1d\n"
        "/done\n"
        "1\n"
        ":as bob\n"
        "/habits\n"
        ":quit\n"
        "/wallet\n"  # never reached
    )
    console, out = make(deps, clock)
    await console.run(script)
    printed = out.getvalue()
    assert "Habitbot console." not in printed  # no banner when not interactive
    assert printed.startswith("me@private> /start\n👋 Hi Me")
    for echoed in (
        "me@private> /habit add Read every=day",
        "me@private> /done Read",
        "me@private> :time +1d",
        "It is now 2026-03-03 09:00 UTC.",
        "me@private> 1",
        "Streak: 2 days",
        "bob@private> /habits",
        "No habits yet",
        "bob@private> :quit",
    ):
        assert echoed in printed, echoed
    assert "/wallet" not in printed
    assert "me@private> \n" not in printed  # blank lines are not echoed


async def test_script_ends_at_end_of_input(deps: Deps, clock: FakeClock) -> None:
    console, out = make(deps, clock)
    await console.run(io.StringIO("/start"))  # no trailing newline, no :quit
    assert "me@private> /start" in out.getvalue() and "Hi Me" in out.getvalue()


async def test_bad_bytes_and_nul_on_stdin_get_a_clear_line(deps: Deps, clock: FakeClock) -> None:
    # A pipe or terminal that is not UTF-8: stdin is a strict UTF-8 text stream over bytes.
    stdin = io.TextIOWrapper(
        io.BytesIO(b"/habit add Re\xffad\n:as b\x00ob\n/habit add Read\n/habits\n"),
        encoding="utf-8",
    )
    console, out = make(deps, clock)
    await console.run(stdin)
    printed = out.getvalue()
    assert printed.count("not UTF-8") == 2 and "Traceback" not in printed
    assert "Added Read" in printed and "me@private> /habits" in printed
    assert "Re?ad" not in printed and "Read" in printed.split("/habits")[-1]


@pytest.mark.parametrize("where", [[], [":group gym admin"]])
async def test_every_registry_example_works_as_typed(
    deps: Deps, clock: FakeClock, where: list[str]
) -> None:
    console, out = make(deps, clock)
    await lines(console, out, *where, *SETUP)
    for example in examples():
        answer = await lines(console, out, example)
        assert answer.strip() and not problems(answer), (example, answer)


async def test_plan_two_goals_and_work_through_three_days(deps: Deps, clock: FakeClock) -> None:
    """Done when: plan "read more" and "stop doom-scrolling", answer, accept, three days."""
    console, out = make(deps, clock)
    printed = await lines(console, out, "/plan read more")
    assert "Planning Read: a habit to build, 21 days." in printed
    assert "(or just type it)" in printed and "[1] ✖️ Cancel" in printed
    printed = await lines(console, out, "to relax", "my phone", "evenings")
    assert "Made by the built-in planner: no AI service is configured." in printed
    assert "[1] ✅ Accept  [2] 🔄 Another version  [3] ✖️ Cancel" in printed
    assert "Saved Read" in await lines(console, out, "1")  # the Accept button
    await lines(console, out, "/plan stop doom-scrolling", "sleep", "boredom", "at night")
    assert "Saved Less scrolling (a habit to quit)" in await lines(console, out, "/plan accept")
    for day in (1, 2, 3):
        printed = await lines(console, out, "/today")
        assert f"Read — plan day {day}/21" in printed
        assert f"Less scrolling — plan day {day}/21" in printed
        # Buttons: the two habits' own, then three tasks each; press the tasks one by one
        # (after a task, its habit's open tasks are offered again).
        for _ in range(6):
            tasks = [i for i, b in enumerate(console.buttons, 1)
                     if b.action.command == "plan done"]
            printed = await lines(console, out, str(tasks[0]))
            assert "+5 coins" in printed
            if "All done: Read done for today." in printed:
                await lines(console, out, "/today")
        assert "All done: Less scrolling clean today." in printed
        assert f"Streak: {day} clean day" in printed
        assert "2/2 done" in await lines(console, out, "/today")
        await lines(console, out, ":time +1d")
    assert "coins: 150" in await lines(console, out, "/wallet")  # 3 days x 2 x (15 + 10)


async def test_the_console_plans_with_the_configured_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """PLANNER_BASE_URL pointed at a compatible server: the plan comes from it."""
    import sys

    from habitbot import app
    from habitbot.settings import Settings
    from tests.emulators.chat_api import ChatApi

    async with ChatApi() as api:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, data_dir=tmp_path, database_url=None,
            planner_base_url=api.base_url, planner_model="test-model",
        )
        script = "/plan read more\nbooks calm me\nmy phone\nat night\n/plan accept\n/today\n"
        monkeypatch.setattr(sys, "stdin", io.StringIO(script))
        await app.console(settings)
    printed = capsys.readouterr().out
    assert "1/3: What draws you to books?" in printed  # the model's questions
    assert "Made by test-model." in printed and "AI tip number 1" in printed
    assert "Saved Reading (a habit to build) with its 21-day plan." in printed
    assert "Reading — plan day 1/21" in printed
    assert len(api.plan_requests()) == 1


async def test_remove_is_confirmed_by_typing_the_buttons_number(
    deps: Deps, clock: FakeClock
) -> None:
    console, out = make(deps, clock)
    await lines(console, out, "/habit add Read")
    asked = await lines(console, out, "/habit remove Read")
    assert "Remove Read and all its check-ins?" in asked and "[1] 🗑 Remove Read" in asked
    assert "Removed Read" in await lines(console, out, "1")


async def test_a_reminder_set_in_a_group_before_any_private_chat_says_so(
    deps: Deps, clock: FakeClock
) -> None:
    console, out = make(deps, clock)
    await lines(console, out, ":as zoe", ":group gym")
    said = await lines(console, out, "/habit add Read remind=21:00")
    assert "reminders can't reach you" in said and ":private" in said
