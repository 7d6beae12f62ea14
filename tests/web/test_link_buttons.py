"""A link button survives the outbox (Reply.to_data/from_data) and each renderer shows it as
its platform's link: Telegram url or web_app, Discord a link button, the console the address.
The year matrix is the PNG heatmap's layout, drawn as SVG."""

from __future__ import annotations

from datetime import date, timedelta

from bots.charts import bar_chart_layout, bar_chart_svg, heatmap_layout, heatmap_svg
from bots.console.render import render
from bots.reply import Action, Button, Reply


def test_a_link_button_survives_the_outbox() -> None:
    reply = Reply.text("hi").button_row(
        Button("🌐 Open", Action("app"), url="https://x.example/login?t=a.b",
               web_app="https://x.example/tg"),
        Button("✅ Done", Action("done", "#1")),
    )
    again = Reply.from_data(reply.to_data())
    assert again.buttons == reply.buttons


def test_the_console_prints_a_link_and_numbers_only_pressable_buttons() -> None:
    reply = Reply.text("hi").button_row(
        Button("🌐 Open", Action("app"), url="http://127.0.0.1:1/login?t=x"),
        Button("✅ Done", Action("done", "#1")),
    )
    text, buttons = render(reply)
    assert "🌐 Open: http://127.0.0.1:1/login?t=x" in text and "[1] ✅ Done" in text
    assert [b.label for b in buttons] == ["✅ Done"]


def test_the_svg_matrix_draws_the_png_layout() -> None:
    today = date(2026, 3, 30)
    values = {today - timedelta(days=d): 1.0 for d in range(0, 365, 2)}
    layout = heatmap_layout(values, today, 53, "Read <&>")
    svg = heatmap_svg(values, today, 53, "Read <&>")
    assert svg.startswith("<svg") and f'viewBox="0 0 {layout.width} {layout.height}"' in svg
    assert "Read &lt;&amp;&gt;" in svg and "<&>" not in svg
    # 52 full weeks and this week up to today (a Monday), each day one cell of the paths
    assert svg.count("h17v17h-17z") == len(layout.rects) == 52 * 7 + 1
    assert 'aria-label="Read &lt;&amp;&gt;: activity matrix, 183 days done' in svg
    bars = bar_chart_layout([("ann", 0.5), ("Together", 0.25)], "Board")
    chart = bar_chart_svg([("ann", 0.5), ("Together", 0.25)], "Board")
    assert chart.count("<title>") == 1 + sum(1 for r in bars.rects if r[5])
    assert "ann: 50%" in chart and "Board: ann 50%; Together 25%" in chart
