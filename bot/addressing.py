"""Which messages are meant for the bot, and the question they carry.

In a private chat every text message is a question. In a group the bot answers
only when spoken to: a command (`/ask …`, or `/ask@this_bot …`), a message that
mentions it, or a reply to one of its messages; everything else is team talk.
"""

from __future__ import annotations

import re

from telegram import Chat, Message, MessageEntity


def is_private(message: Message) -> bool:
    return message.chat.type == Chat.PRIVATE


def command_target(message: Message) -> str | None:
    """The bot a leading command is addressed to ('' for a bare `/cmd`), None if no command."""
    entities = message.entities or message.caption_entities or ()  # a document's /add caption
    if not entities or entities[0].type != MessageEntity.BOT_COMMAND or entities[0].offset:
        return None
    if message.entities:
        command = message.parse_entity(entities[0])
    else:
        command = message.parse_caption_entity(entities[0])
    _, _, target = command.partition("@")
    return target


def mentions(message: Message, username: str) -> bool:
    """True when the text mentions @username (Telegram marks mentions as entities)."""
    wanted = f"@{username}".casefold()
    return any(
        entity.type == MessageEntity.MENTION and text.casefold() == wanted
        for entity, text in message.parse_entities([MessageEntity.MENTION]).items()
    )


def replies_to(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot_id)


def is_addressed(message: Message, username: str, bot_id: int) -> bool:
    """True when the message is for this bot (see module docstring)."""
    if is_private(message):
        return True
    target = command_target(message)
    if target is not None:
        return target == "" or target.casefold() == username.casefold()
    return mentions(message, username) or replies_to(message, bot_id)


def without_mention(text: str, username: str) -> str:
    """The question once '@username' is taken out of it."""
    cleaned = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)
    return " ".join(cleaned.split())
