"""AI habit planning: from a vague goal, through a few questions, to a plan of daily tasks.

`schema` validates plans, `prompts` holds every word sent to a model, `ai` is the
OpenAI-compatible client, `builtin` the template planner used without one (or when it fails),
`planner` picks between them, and `service` keeps the conversation and the plans in the
database.
"""
