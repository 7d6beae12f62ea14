"""An OpenAI-compatible chat-completions client (OpenAI, OpenRouter, DeepSeek, a local server),
through the maintained `openai` package: a timeout, one retry on transient errors, JSON output
requested. It never logs what it sends: the user's answers go to the configured API only."""

from __future__ import annotations

import logging

import openai

from core.planning.planner import PlannerFailed
from core.planning.prompts import Message
from core.planning.schema import MAX_ANSWER_CHARS

log = logging.getLogger("habitbot.planner")

TIMEOUT = 20.0  # seconds for one attempt
MAX_TOKENS = 6000  # a 60-day plan fits; a runaway answer is cut


class ChatPlanner:
    """The `ChatModel` of the planner, backed by a chat-completions API."""

    def __init__(
        self, base_url: str, api_key: str | None, model: str, timeout: float = TIMEOUT
    ) -> None:
        self.name = model
        # The client's DEBUG log can hold request bodies, that is the user's answers: never.
        logging.getLogger("openai").setLevel(max(logging.INFO, logging.getLogger("openai").level))
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "none",  # local servers take any key
            timeout=timeout,
            max_retries=1,  # the client retries connection errors, 408, 429 and 5xx
        )

    async def complete(self, messages: list[Message]) -> str:
        try:
            response = await self._client.chat.completions.create(
                model=self.name,
                messages=messages,  # type: ignore[arg-type]
                response_format={"type": "json_object"},
                max_tokens=MAX_TOKENS,
                temperature=0.7,
            )
        except openai.APITimeoutError:
            raise PlannerFailed("the AI service did not answer in time") from None
        except openai.APIStatusError as error:
            log.warning("planner API answered %s", error.status_code)
            raise PlannerFailed(
                f"the AI service answered with an error ({error.status_code})"
            ) from None
        except (openai.APIConnectionError, openai.APIResponseValidationError) as error:
            log.warning("planner API unreachable: %s", type(error).__name__)
            raise PlannerFailed("the AI service could not be reached") from None
        except openai.OpenAIError as error:  # anything else the client raises
            log.warning("planner API failed: %s", type(error).__name__)
            raise PlannerFailed("the AI service could not be used") from None
        choices = response.choices or []
        if not choices or choices[0].message is None:
            return ""
        message = choices[0].message
        text = message.content or ""
        if not text.strip():
            # Reasoning models sometimes leave content empty and answer in a side field.
            extra = message.model_extra or {}
            text = str(extra.get("reasoning_content") or extra.get("reasoning") or "")
        if len(text) > MAX_ANSWER_CHARS:
            raise PlannerFailed("the AI service's answer was far too long")
        return text

    async def close(self) -> None:
        await self._client.close()
