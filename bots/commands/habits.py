"""/habit add|list|edit|remove, /done, /undo, /today, /stats."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bots.charts import heatmap_png, heatmap_text
from bots.commands.buttons import ask
from bots.commands.context import Ctx
from bots.commands.format import (
    amount_text,
    badge_notice,
    habit_line,
    pct,
    quiet_notice,
    reach_check,
    streak_text,
)
from bots.commands.plans import add_today_tasks
from bots.commands.registry import Arg, command
from bots.commands.usage import Refused, cmd
from bots.reply import Action, Button, Reply, bold, italic
from core.habits.names import MAX_NAME
from core.habits.service import (
    add_habit,
    check_in,
    combined_values,
    edit_habit,
    find_habit,
    habit_stats,
    list_habits,
    remove_habit,
    today_items,
    undo,
)

NAME = Arg("name", "the habit's name", "text", required=True, complete="habit", max_length=MAX_NAME)
EVERY = Arg(
    "every",
    "day, weekdays, weekends, mon,wed,fri or 3/week",
    "schedule",
    keyword=True,
    hint="day|weekdays|mon,wed,fri|3/week",
)
REMIND = Arg(
    "remind",
    "reminder times like 07:30,21:00, or off",
    "times",
    keyword=True,
    hint="HH:MM[,HH:MM]|off",
)
TARGET = Arg(
    "target",
    "an amount to reach each time, e.g. 20",
    "number",
    keyword=True,
    min=0.001,
    max=1_000_000,
)
UNIT = Arg("unit", "the target's unit, e.g. pages", "word", keyword=True, max_length=24)
KIND = Arg("kind", "build a habit or quit one", "choice", keyword=True, choices=("build", "quit"))
VISIBILITY = Arg(
    "visibility",
    "public: shown on your profile; private (the default): only you see it",
    "choice",
    keyword=True,
    choices=("public", "private"),
)


def done_button(habit_id: int, label: str) -> Button:
    return Button(f"✅ {label}"[:40], Action("done", f"#{habit_id}"))


@command(
    "habit add",
    "Add a habit to track",
    NAME,
    EVERY,
    REMIND,
    TARGET,
    UNIT,
    KIND,
    examples=(
        "/habit add Read every=day remind=21:00 target=20 unit=pages",
        "/habit add Smoking kind=quit",
    ),
    personal=True,
)
async def habit_add(ctx: Ctx, args: dict[str, Any]) -> Reply:
    options = {k: args[k] for k in ("remind", "target", "unit", "kind") if k in args}
    if "every" in args:
        options["schedule"] = args["every"]
    habit = await add_habit(
        ctx.session, ctx.user, args["name"], today=ctx.today, now=ctx.now, **options
    )
    reply = Reply.text("Added ", bold(habit.name), f": {habit_line(habit)}.")
    if habit.remind_at and ctx.user.timezone == "UTC":
        reply.add("Reminders use UTC until you set ", cmd("timezone"), ".")
    reply.extend(quiet_notice(ctx.user, habit))
    reach_check(ctx, reply, habit)
    return reply.add("Check in with ", cmd("done", habit.name), ".").button_row(
        done_button(habit.id, "Done today")
    )


@command(
    "habit list", "List your habits", aliases=("habits",), default=True, private=True, personal=True
)
async def habit_list(ctx: Ctx, args: dict[str, Any]) -> Reply:
    habits = await list_habits(ctx.session, ctx.user.id)
    if not habits:
        return Reply.text("No habits yet. Add one: ", cmd("habit add", "Read", every="day"))
    reply = Reply.text(bold("Your habits"))
    for habit in habits:
        reply.bullet(bold(habit.name), f" — {habit_line(habit)}")
    return reply


@command(
    "habit edit",
    "Change a habit: name, schedule, reminder, target, unit, kind or visibility",
    NAME,
    Arg("rename", "a new name", "text", keyword=True, max_length=MAX_NAME),
    EVERY,
    REMIND,
    TARGET,
    UNIT,
    KIND,
    VISIBILITY,
    examples=(
        "/habit edit Read every=weekdays remind=off",
        "/habit edit Read rename=Reading",
        "/habit edit Read visibility=public",
    ),
    personal=True,
)
async def habit_edit(ctx: Ctx, args: dict[str, Any]) -> Reply:
    habit = await find_habit(ctx.session, ctx.user.id, args["name"])
    keys = ("every", "remind", "target", "unit", "kind", "visibility")
    changes = {k: args[k] for k in keys if k in args}
    if "rename" in args:
        changes["name"] = args["rename"]
    if not changes:
        raise Refused("Say what to change, e.g. ", cmd("habit edit", "Read", every="weekdays"), ".")
    await edit_habit(ctx.session, ctx.user, habit, changes, ctx.now)
    reply = Reply.text("Updated ", bold(habit.name), f": {habit_line(habit)}.")
    reply.extend(quiet_notice(ctx.user, habit))
    return reach_check(ctx, reply, habit) if "remind" in changes else reply


@command(
    "habit remove",
    "Remove a habit and its history",
    NAME,
    examples=("/habit remove Read",),
    confirm=True,
    personal=True,
)
async def habit_remove(ctx: Ctx, args: dict[str, Any]) -> Reply:
    habit = await find_habit(ctx.session, ctx.user.id, args["name"])
    if not ctx.confirmed:  # the button names the habit by id: a prefix never removes one
        return ask(
            ctx,
            "Remove ",
            bold(habit.name),
            " and all its check-ins? This cannot be undone.",
            yes=f"🗑 Remove {habit.name}"[:40],
            values={"name": f"#{habit.id}"},
        )
    await remove_habit(ctx.session, habit)
    return Reply.text("Removed ", bold(habit.name), " and its check-ins.")


@command(
    "done",
    "Check in a habit for today",
    Arg("habit", "which habit (leave out to pick from a list)", "text", complete="habit"),
    Arg("amount", "how much, for a habit with a target", "number", min=0.001, max=1_000_000),
    examples=("/done Read", "/done Read 25"),
    group=True,
    personal=True,
)
async def done(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if "habit" not in args:
        return await _pending(ctx)
    habit = await find_habit(ctx.session, ctx.user.id, args["habit"])
    result = await check_in(ctx.session, ctx.user, habit, ctx.today, ctx.now, args.get("amount"))
    streak = streak_text(result.streak, habit.kind)
    if not result.recorded:
        return Reply.text(bold(habit.name), f" is already done today. Streak: {streak}.")
    if habit.target is not None and result.amount is not None:
        of = f"{amount_text(result.amount)}/{amount_text(habit.target)} {habit.unit or ''}".strip()
        head = Reply.text(
            "✅ ", bold(habit.name), f": {of}", " — target met!" if result.target_met else "."
        )
    else:
        done_text = " clean today." if habit.kind == "quit" else " done for today."
        head = Reply.text("✅ ", bold(habit.name), done_text)
    head.add(f"🔥 Streak: {streak}")
    if result.coins:
        head.add(f"🪙 +{result.coins} coins")
    if ctx.group is not None and not result.badges:
        head.ack = "👍"  # a group hears of check-ins in its day message, not one by one
    return head.extend(badge_notice(result.badges))


async def _pending(ctx: Ctx) -> Reply:
    every = await today_items(ctx.session, ctx.user.id, ctx.today)
    if not every:
        return Reply.text("No habits yet. Add one: ", cmd("habit add", "Read", every="day"))
    items = [i for i in every if i.scheduled and not i.done]
    if not items:
        return Reply.text("Nothing pending today 🎉. ", cmd("today"), " shows your list.")
    reply = Reply(private=True).add("Which habit did you do?")
    for item in items:
        reply.button_row(done_button(item.habit.id, item.habit.name))
    return reply


@command(
    "undo",
    "Undo a check-in from today or yesterday",
    Arg("habit", "which habit", "text", required=True, complete="habit"),
    Arg("yesterday", "undo yesterday's check-in instead of today's", "flag"),
    examples=("/undo Read", "/undo Read yesterday"),
    personal=True,
)
async def undo_(ctx: Ctx, args: dict[str, Any]) -> Reply:
    habit = await find_habit(ctx.session, ctx.user.id, args["habit"])
    day = ctx.today - timedelta(days=1) if args.get("yesterday") else ctx.today
    when = "yesterday" if args.get("yesterday") else "today"
    coins = await undo(ctx.session, ctx.user, habit, day, ctx.now)
    if coins is None:
        return Reply.text(bold(habit.name), f" has no check-in {when}; nothing to undo.")
    reply = Reply.text("↩️ Undid ", bold(habit.name), f" for {when}.")
    return reply.add(f"🪙 −{coins} coins") if coins else reply


@command(
    "today",
    "Today's checklist: done, pending, not scheduled",
    group=True,
    private=True,
    personal=True,
)
async def today(ctx: Ctx, args: dict[str, Any]) -> Reply:
    items = await today_items(ctx.session, ctx.user.id, ctx.today)
    if not items:
        return Reply.text("No habits yet. Add one: ", cmd("habit add", "Read", every="day"))
    reply = Reply.text(bold(f"Today, {ctx.today:%a %d %b}")).as_card()
    for item in items:
        habit = item.habit
        progress = ""
        if habit.target is not None and item.amount:
            progress = f" ({amount_text(item.amount)}/{amount_text(habit.target)})"
        if item.done:
            reply.add("✅ ", habit.name, progress)
        elif item.scheduled:
            reply.add("⬜ ", habit.name, progress)
            reply.button_row(done_button(habit.id, habit.name))
        else:
            reply.add("➖ ", italic(habit.name), " (not scheduled today)")
    done_count = sum(i.done for i in items)
    due = sum(i.scheduled or i.done for i in items)
    if reply.card is not None and due and done_count == due:
        reply.card.colour = "green"  # all done today
    return await add_today_tasks(ctx, reply.add(f"{done_count}/{due} done"))


@command(
    "stats",
    "Streaks, completion, habit strength and your activity heatmap",
    Arg("habit", "one habit (leave out for all)", "text", complete="habit"),
    group=True,
    private=True,
    personal=True,
)
async def stats(ctx: Ctx, args: dict[str, Any]) -> Reply:
    habit_id = None
    if "habit" in args:
        habit_id = (await find_habit(ctx.session, ctx.user.id, args["habit"])).id
    all_stats = await habit_stats(ctx.session, ctx.user.id, ctx.today, habit_id)
    if not all_stats:
        return Reply.text("No habits yet. Add one: ", cmd("habit add", "Read", every="day"))
    since = ctx.today - timedelta(weeks=26)
    if habit_id is not None:
        s = all_stats[0]
        reply = Reply.text(bold(s.habit.name), f" — {s.habit.kind}, {habit_line(s.habit)}")
        reply.as_card()
        streak = streak_text(s.streak, s.habit.kind)
        reply.bullet(f"streak: {streak} (best {s.streak.best})").mark_field()
        reply.bullet(f"completion: {pct(s.rate7)} last 7 days, {pct(s.rate30)} last 30 days")
        reply.mark_field()
        reply.bullet(f"strength: {pct(s.strength)}", f" — {_strength_word(s.strength)}")
        reply.mark_field().bullet(f"check-ins: {s.total}").mark_field()
        values, title = s.values, s.habit.name
    else:
        reply = Reply.text(bold("Your habits")).as_card()
        for s in all_stats:
            reply.bullet(
                bold(s.habit.name),
                f": streak {streak_text(s.streak, s.habit.kind)} (best {s.streak.best}), "
                f"7d {pct(s.rate7)}, 30d {pct(s.rate30)}, strength {pct(s.strength)}",
            ).mark_field()
        values, title = combined_values(all_stats, since), "All habits"
    reply.image = heatmap_png(values, ctx.today, title=f"{title} — last 26 weeks")
    reply.image_name = "heatmap.png"
    reply.image_alt = heatmap_text(values, ctx.today)
    return reply


def _strength_word(value: float) -> str:
    if value >= 0.9:
        return "formed"
    if value >= 0.5:
        return "on its way"
    return "just starting" if value < 0.2 else "growing"
