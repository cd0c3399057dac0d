"""Wiring only: build the Application from settings, register handlers in order, run it.

Behaviour lives in handlers.py (what each update does), access.py (who may),
render.py (how replies look) and heartbeat.py (liveness).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import (
    feed_jobs,
    feedback_handlers,
    handlers,
    heartbeat,
    ingest_handlers,
    texts,
    timeline,
    who,
)
from bot.access import Access, RateLimiter, gate
from bot.answers import AnswerCache
from bot.delivery import PatientRateLimiter
from bot.feedback import PREFIX as FEEDBACK_PREFIX
from bot.feedback import Feedback
from bot.fleet import Fleet, FleetDelivery
from bot.logs import hide_secret
from bot.progress import logged_progress
from bot.settings import Settings
from bot.shared_state import SharedAnswers, SharedRateLimiter, SharedRedis
from bot.state import STATE_KEY, BotState, state_of
from bot.storage import AsyncStorage
from bot.webhook import SERVER_KEY, Webhook, WebhookServer
from retrieval.engine import Engine

log = logging.getLogger(__name__)

# Updates handled at once. Each question waits on a worker thread (search) and on
# the Bot API (replies); handling several at once keeps one slow reload or one slow
# chat from holding up everyone else. Bounded so a burst cannot pile up tasks.
CONCURRENT_UPDATES = 16
# Long polling: the server holds getUpdates open this long when there is nothing new
# (python-telegram-bot's default; shorter only costs a few idle requests a minute).
POLL_TIMEOUT = 10
# A 429 from the Bot API is waited out (retry_after) and retried this many times;
# other transient failures are retried by PatientRateLimiter (bot/delivery.py).
RATE_LIMIT_RETRIES = 3
# my_chat_member: the bot was added to a group (bot/access.py leaves groups not allowed).
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
# Start-up calls (getMe, setWebhook) are retried this many times on network errors.
BOOTSTRAP_RETRIES = 3


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds the HTTP client waits on the Bot API before it calls a request failed.

    A read timeout on sendMessage is retried (bot/delivery.py); on getUpdates the poll
    is simply repeated, and as the offset is not advanced, nothing is skipped.
    """

    connect: float = 10
    read: float = 20
    write: float = 20
    pool: float = 10
    poll: int = POLL_TIMEOUT  # long polling: how long the server may hold getUpdates
    poll_read: float = 10  # added to `poll` for getUpdates' read timeout


def build_application(
    settings: Settings,
    token: str,
    engine: Engine,
    heartbeat_interval: float = heartbeat.DEFAULT_INTERVAL,
    timeouts: Timeouts = Timeouts(),
) -> Application:
    """The bot, ready to run: `engine` must be open (its index is what gets served)."""
    hide_secret(token)  # before the Bot exists: it logs its URLs, token included, at DEBUG
    api = settings.telegram.api_url
    lifecycle = _Lifecycle(settings.telegram.heartbeat_file, heartbeat_interval)
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_sending_without_reply=True,
            )
        )
        .concurrent_updates(CONCURRENT_UPDATES)
        .rate_limiter(PatientRateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .connect_timeout(timeouts.connect)
        .read_timeout(timeouts.read)
        .write_timeout(timeouts.write)
        .pool_timeout(timeouts.pool)
        .get_updates_connect_timeout(timeouts.connect)
        .get_updates_read_timeout(timeouts.poll_read)  # PTB adds the poll timeout to this
        .post_init(lifecycle.started)
        .post_shutdown(lifecycle.stopped)
        .job_queue(feed_jobs.job_queue_for(settings))
        .build()
    )
    application.bot_data[STATE_KEY] = _bot_state(settings, engine)
    _register(application)
    feed_jobs.schedule(application, settings)
    return application


def _bot_state(settings: Settings, engine: Engine) -> BotState:
    """In-process limits and answers; with `state.redis_url`, the fleet's in Redis."""
    access = settings.access
    url = settings.state.redis_url
    shared = SharedRedis(url) if url else None
    return BotState(
        engine=engine,
        access=Access.from_settings(access),
        questions=(
            SharedRateLimiter(shared, "questions", access.questions_per_minute)
            if shared
            else RateLimiter(access.questions_per_minute)
        ),
        refusals=RateLimiter(3),
        limit_notices=SharedRateLimiter(shared, "notices", 1) if shared else RateLimiter(1),
        answers=SharedAnswers(shared) if shared else AnswerCache(),
        fleet=Fleet(engine, shared) if shared else None,
        reload_progress=logged_progress(),
        ingest=settings.ingest,
        feedback=Feedback(
            AsyncStorage(
                settings.storage.path,
                keep_days=settings.storage.keep_days,
                log_user_ids=settings.storage.log_user_ids,
            )
        ),
    )


def _register(application: Application) -> None:
    # Group -1 runs first for every update: the access gate stops what may not pass.
    application.add_handler(TypeHandler(Update, gate), group=-1)
    new_message = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler(["start", "help"], handlers.start, new_message))
    application.add_handler(CommandHandler("ask", handlers.ask_command, new_message))
    application.add_handler(CommandHandler("sources", handlers.sources, new_message))
    application.add_handler(CommandHandler("reload", handlers.reload, new_message))
    application.add_handler(CommandHandler("stats", handlers.stats, new_message))
    application.add_handler(CommandHandler("gaps", feedback_handlers.gaps, new_message))
    application.add_handler(CommandHandler("add", ingest_handlers.add_command, new_message))
    application.add_handler(CommandHandler("remove", ingest_handlers.remove_command, new_message))
    application.add_handler(CommandHandler("feeds", feed_jobs.feeds_command, new_message))
    application.add_handler(CommandHandler("timeline", timeline.timeline_command, new_message))
    application.add_handler(CommandHandler("who", who.who_command, new_message))
    # A document: any in a private chat; in a group only with the caption /add.
    add_caption = filters.CaptionRegex(r"^/add(@\w+)?(\s|$)")
    document = new_message & filters.Document.ALL
    application.add_handler(
        MessageHandler(document & (filters.ChatType.PRIVATE | add_caption), ingest_handlers.upload)
    )
    text = new_message & filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & text, handlers.private_text))
    application.add_handler(MessageHandler(filters.ChatType.GROUPS & text, handlers.group_text))
    # After the known commands, so only unknown ones land here.
    application.add_handler(MessageHandler(new_message & filters.COMMAND, handlers.unknown_command))
    remove_pattern = f"^{ingest_handlers.REMOVE_PREFIX}"
    application.add_handler(CallbackQueryHandler(ingest_handlers.remove_button, remove_pattern))
    feedback_pattern = f"^{FEEDBACK_PREFIX}"
    application.add_handler(CallbackQueryHandler(feedback_handlers.button, feedback_pattern))
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_error_handler(handlers.on_error)


class _Lifecycle:
    """What happens once the bot is connected (menus, heartbeat) and once it shuts down."""

    def __init__(self, heartbeat_file: Path | None, interval: float) -> None:
        self.heartbeat_file = heartbeat_file
        self.interval = interval
        self.task: asyncio.Task[None] | None = None
        self.watching: asyncio.Task[None] | None = None

    async def started(self, application: Application) -> None:
        # First: a log written by a newer release stops the bot (SchemaTooNew) before it
        # serves; any other storage fault only warns, and questions are still answered.
        await _open_storage(application)
        fleet = state_of(application).fleet
        if fleet is not None:  # before anything is served: FleetMismatch stops here
            await fleet.start()
            self.watching = asyncio.create_task(fleet.watch(application.stop_running))
        await _set_commands(application)
        if self.heartbeat_file is not None:
            self.task = asyncio.create_task(
                heartbeat.beat(application, self.heartbeat_file, self.interval)
            )
        snapshot = state_of(application).engine.snapshot
        log.info(
            "serving @%s: %d documents, %d sentences",
            application.bot.username,
            len(snapshot.index.sources),
            snapshot.index.n_sentences,
        )

    async def stopped(self, application: Application) -> None:
        await heartbeat.stop(self.task)
        self.task = None
        feedback = state_of(application).feedback
        if feedback is not None:
            await feedback.storage.close()
        fleet = state_of(application).fleet
        if self.watching is not None:
            self.watching.cancel()
            await asyncio.gather(self.watching, return_exceptions=True)
            self.watching = None
        if fleet is not None:
            await fleet.shared.close()


async def _open_storage(application: Application) -> None:
    feedback = state_of(application).feedback
    if feedback is None:
        return
    storage = feedback.storage
    await storage.start()
    if storage.available:
        log.info("question log: %s", storage.path)


async def _set_commands(application: Application) -> None:
    """Everyone sees the question commands; each admin's chat also lists the admin ones."""
    user_commands = [BotCommand(name, text) for name, text in texts.COMMANDS.items()]
    admin_commands = user_commands + [
        BotCommand(name, text) for name, text in texts.ADMIN_COMMANDS.items()
    ]
    await application.bot.set_my_commands(user_commands)
    for admin in sorted(state_of(application).access.admins):
        try:
            await application.bot.set_my_commands(admin_commands, BotCommandScopeChat(admin))
        except TelegramError as exc:  # e.g. the admin never opened a chat with the bot
            log.warning("admin commands not registered for user %s: %s", admin, exc)


def run(
    application: Application,
    webhook: Webhook | None = None,
    handle_signals: bool = True,
    poll_timeout: int = POLL_TIMEOUT,
) -> None:
    """Serve until SIGINT/SIGTERM (or `stop_running`): long polling, or a webhook.

    `handle_signals=False` runs without signal handlers (needed outside the main thread).
    """
    if webhook is not None:
        _run_webhook(application, webhook, handle_signals)
        return
    extra = {} if handle_signals else {"stop_signals": None}
    application.run_polling(
        timeout=poll_timeout,
        allowed_updates=ALLOWED_UPDATES,
        bootstrap_retries=BOOTSTRAP_RETRIES,
        **extra,
    )


def _run_webhook(application: Application, webhook: Webhook, handle_signals: bool) -> None:
    """`run_polling`'s life cycle with bot/webhook.py's server in place of the updater.

    Like python-telegram-bot's `__run`, the loop runs forever once the bot is started,
    so `Application.stop_running` (which stops the loop) ends it too.
    """
    try:  # the thread's loop, as run_polling uses it
        loop = asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
    if handle_signals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, _exit)

    async def deliver(data: dict[str, object]) -> None:
        await application.update_queue.put(Update.de_json(data, application.bot))

    # A fleet answers a post once its update is handled, and handles each update once.
    fleet = state_of(application).fleet
    delivery = FleetDelivery(application, fleet.ledger) if fleet else None
    server = WebhookServer(webhook.path, webhook.secret_token, delivery or deliver)
    try:
        loop.run_until_complete(_retrying(application.initialize))
        if application.post_init:
            loop.run_until_complete(application.post_init(application))
        loop.run_until_complete(server.start(webhook.listen, webhook.port))
        application.bot_data[SERVER_KEY] = server
        loop.run_until_complete(_retrying(lambda: _set_webhook(application, webhook)))
        loop.run_until_complete(application.start())
        loop.run_forever()
    except (KeyboardInterrupt, SystemExit):
        log.info("stop requested; shutting down")
    finally:
        loop.run_until_complete(server.stop())
        if delivery is not None:
            loop.run_until_complete(delivery.drain())
        application.bot_data.pop(SERVER_KEY, None)
        if application.running:
            loop.run_until_complete(application.stop())
        loop.run_until_complete(application.shutdown())  # a no-op if never initialized
        if application.post_shutdown:
            loop.run_until_complete(application.post_shutdown(application))
        if handle_signals:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)


async def _set_webhook(application: Application, webhook: Webhook) -> None:
    await application.bot.set_webhook(
        url=webhook.url,
        secret_token=webhook.secret_token,
        allowed_updates=ALLOWED_UPDATES,
    )
    log.info("webhook registered: %s", webhook.url)


async def _retrying(call: Callable[[], Awaitable[object]]) -> None:
    """`call`, retried like polling's bootstrap when the Bot API cannot be reached."""
    for attempt in range(BOOTSTRAP_RETRIES + 1):
        try:
            await call()
            return
        except InvalidToken:
            raise
        except NetworkError as exc:
            if attempt == BOOTSTRAP_RETRIES:
                raise
            log.warning("Bot API not reachable (%s); retrying", exc)
            await asyncio.sleep(1)


def _exit() -> None:
    raise SystemExit
