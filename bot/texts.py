"""Every Arabic text the bot shows, in one place, so wording is reviewed and changed here only.

Texts are Telegram HTML: placeholders filled by `str.format` must be escaped by the
caller (render.py does). Lines that may start with a Latin letter or a digit get
their direction from render.rtl_line, not from these strings.
"""

from __future__ import annotations

HELP = (
    "<b>بوت التغطية</b> يجيب عن أسئلتك من أرشيف الأخبار: "
    "يبحث في جمل المقالات ويرد بأقربها إلى سؤالك، مع مصدر كل جملة.\n"
)
HELP += """
<b>كيف تسأل؟</b>
• في المحادثة الخاصة: اكتب سؤالك مباشرة.
• في المجموعات: /ask ثم السؤال، أو اذكر البوت في رسالتك، أو رُدّ على إحدى رسائله.

<b>أمثلة:</b>
• ماذا قال كيم عن الإمبريالية؟
• أين عقدت القمة بين كيم وبوتين؟

تحت كل إجابة زر «المزيد» لنتائج أخرى، وأزرار «السياق» لعرض الفقرة حول الجملة.
للتصفية أضف إلى السؤال: <code>outlet:الوسيلة</code> (أو <code>outlet:"اسم بمسافات"</code>) \
و<code>from:2024-03-01</code> و<code>to:2024-03-31</code>.
/sources قائمة المصادر المتاحة.
/timeline موضوع: رسم لتغطية الموضوع يوماً بيوم، لكل وسيلة لونها.
/who نص: من نشر هذه الجملة أو صيغة قريبة منها، من الأقدم \
(أو زر «من نشر هذا؟» تحت الإجابة)."""

HELP_ADMIN = """

<b>أوامر المشرفين:</b>
/reload إعادة قراءة مجلد المصادر وبناء الفهرس
أرسل ملفاً (txt أو md أو html أو docx أو pdf) لإضافته إلى المصادر؛ في المجموعات مع التعليق /add
/add رابط: إضافة مقال من صفحة ويب
/remove اسم: حذف وثيقة أضيفت من البوت
/feeds حالة الخلاصات (آخر جلب، ما أضيف، آخر خطأ)
/stats إحصاءات التشغيل وسجل الأسئلة
/gaps فجوات التغطية: أكثر الأسئلة تكراراً بلا نتائج أو مع 👎"""

COMMANDS = {
    "start": "بدء الاستخدام والتعريف بالبوت",
    "help": "كيف تسأل، مع أمثلة",
    "ask": "اطرح سؤالاً (في المجموعات)",
    "sources": "قائمة المصادر المتاحة",
    "timeline": "رسم لتغطية موضوع يوماً بيوم",
    "who": "من نشر هذه الجملة؟ الوسائل والتواريخ",
}
ADMIN_COMMANDS = {
    "reload": "إعادة تحميل المصادر وبناء الفهرس",
    "stats": "إحصاءات التشغيل",
    "gaps": "فجوات التغطية: أسئلة بلا نتائج أو مع 👎",
    "add": "إضافة مقال من رابط (أو أرسل ملفاً)",
    "remove": "حذف وثيقة أضيفت من البوت",
    "feeds": "حالة الخلاصات",
}

NOT_ALLOWED = (
    "عذراً، هذا البوت مقصور على فريق التحرير. "
    "رقم حسابك: <code>{user_id}</code>؛ أرسله إلى المشرف إن كنت تحتاج إلى الوصول."
)
GROUP_NOT_ALLOWED = (
    "عذراً، هذا البوت مقصور على فريق التحرير، وهذه المجموعة ليست من مجموعاته "
    "(رقمها: <code>{chat_id}</code>). سيغادر البوت المجموعة."
)
LEFT_GROUP = (
    "أضفتني إلى المجموعة {title} (رقمها: <code>{chat_id}</code>)، "
    "وهي ليست من المجموعات المسموح بها، فغادرتُها. "
    "أجيب في المجموعات المدرجة في access.allowed_chats فقط؛ "
    "اطلب من المشرف إضافة رقمها إن كانت تحتاج إلى البوت."
)
ADMIN_ONLY = "عذراً، هذا الأمر للمشرفين فقط."
BUTTON_NOT_ALLOWED = "عذراً، ليس لديك إذن باستخدام هذا البوت."
RATE_LIMITED = "أسئلة كثيرة في وقت قصير. انتظر دقيقة ثم أعد المحاولة."
# A button press counts like a question; this short notice answers the press.
BUTTON_RATE_LIMITED = "طلبات كثيرة في وقت قصير. انتظر دقيقة ثم أعد المحاولة."
ASK_USAGE = "اكتب سؤالك بعد الأمر، مثلاً:\n/ask ماذا قال كيم عن الإمبريالية؟"
EMPTY_QUESTION = "لم أجد سؤالاً في رسالتك. اكتب سؤالك نصاً."
UNKNOWN_COMMAND = "أمر غير معروف. اكتب /help لمعرفة طريقة الاستخدام."

NO_HITS = (
    "لم أجد في المصادر جملة تجيب عن هذا السؤال.\n"
    "جرّب صياغة أخرى أو كلمات أقل، مثل اسم الشخص أو المكان فقط."
)
NO_MORE = "لا توجد نتائج أخرى لهذا السؤال."

# Filters in a question (retrieval/filters.py): outlet:NAME from:YYYY-MM-DD to:YYYY-MM-DD.
FILTERS_LINE = "<b>المرشّحات:</b> {parts}"
FILTER_OUTLETS = "الوسيلة: {names}"
FILTER_FROM = "من: {date}"
FILTER_TO = "إلى: {date}"
FILTER_SEPARATOR = "، "
FILTER_OR = " أو "
FILTER_UNDATED = "(استُبعدت {count} وثيقة بلا تاريخ)"
FILTER_NO_MATCH = "لا توجد في المصادر وثيقة تطابق هذه المرشّحات."
FILTER_UNKNOWN_OUTLET = "لا توجد في المصادر وسيلة باسم {names}."
FILTER_KNOWN_OUTLETS = "الوسائل المتاحة: {names}"
FILTER_INVALID = "لم أفهم المرشّح {token}: {reason}."
FILTER_USAGE = 'مثال: <code>outlet:"قناة الساحل" from:2024-03-01 to:2024-03-31</code>'
FILTER_REASONS = {
    "unclosed": "علامة التنصيص لم تُغلق",
    "empty": "لا قيمة بعد النقطتين",
    "twice": "ورد أكثر من مرة",
    "format": "التاريخ يُكتب هكذا: YYYY-MM-DD",
    "no_such_date": "لا يوجد تاريخ كهذا",
    "order": "تاريخ البداية بعد تاريخ النهاية",
}
EXPIRED = "انتهت صلاحية هذه النتيجة (أُعيد تحميل المصادر أو مرّ وقت طويل). اطرح السؤال من جديد."

ANSWER_HEADER = "<b>أقرب الجمل إلى سؤالك:</b>"
# Hits of a "related" outcome (retrieval/answerability.py): on the topic, not the answer.
RELATED_HEADER = "<b>لا توجد إجابة مباشرة — جمل ذات صلة:</b>"
MORE_HEADER = "<b>نتائج أخرى</b> (من {first} إلى {last}):"
CONTINUED = "<i>(تابع)</i>"
MORE_BUTTON = "المزيد"
CONTEXT_BUTTON = "السياق {rank}"
WHO_BUTTON = "من نشر هذا؟ {rank}"
CONTEXT_HEADER = "<b>سياق الجملة {rank}</b> من: {title}"
SOURCE_PREFIX = "المصدر:"
SOURCES_PREFIX = "المصادر:"
MORE_SOURCES = "و{count} مصادر أخرى"

SOURCES_HEADER = "<b>المصادر</b> ({count} وثيقة، {sentences} جملة) — صفحة {page} من {pages}:"
SOURCE_LINE = "{n}. {title} — {sentences} جملة"
PREVIOUS_BUTTON = "السابق"
NEXT_BUTTON = "التالي"

RELOAD_STARTED = (
    "بدأت إعادة تحميل المصادر… ستصلك النتيجة هنا. الأسئلة تُجاب من الفهرس الحالي حتى ينتهي."
)
RELOAD_RUNNING = "إعادة تحميل جارية بالفعل؛ انتظر حتى تنتهي."
RELOAD_DONE = "<b>اكتملت إعادة التحميل</b> في {seconds} ث."
RELOAD_FOLDER = "مجلد المصادر المقروء: {folder}"
RELOAD_DOCUMENTS = "الوثائق: من {before} إلى {after}"
RELOAD_SENTENCES = "الجمل: من {before} إلى {after}"
RELOAD_ADDED = "أُضيفت ({count}):"
RELOAD_REMOVED = "حُذفت ({count}):"
RELOAD_CHANGED = "تغيّرت ({count}):"
RELOAD_UNCHANGED = "لم يتغير أي ملف."
RELOAD_SKIPPED = "ملفات تُجوهلت ({count}):"
RELOAD_NOT_CACHED = (
    "تنبيه: تعذّر حفظ الفهرس على القرص؛ يعمل البوت به الآن، وسيُبنى من جديد عند إعادة التشغيل:"
)
RELOAD_FAILED = "<b>فشلت إعادة التحميل</b> بعد {seconds} ث:"
RELOAD_KEPT = "ما زال الفهرس السابق في الخدمة ({documents} وثيقة، {sentences} جملة)."
MORE_ITEMS = "… و{count} غيرها"

STATS = """<b>إحصاءات التشغيل</b>
مدة التشغيل: {uptime}
المصادر: {documents} وثيقة، {sentences} جملة
الفهرس: {how} في {index_seconds} ث، منذ {loaded}
أسئلة أُجيبت: {answered}
الزمن الوسيط للإجابة: {median}"""
INDEX_FROM_CACHE = "قُرئ من الذاكرة المؤقتة"
INDEX_BUILT = "بُني"
NO_LATENCY = "لا أسئلة بعد"

# Feedback under answers (bot/feedback.py). The two signs are also what /stats shows.
UP_BUTTON = "👍"
DOWN_BUTTON = "👎"
CHOSEN_MARK = " ✓"  # appended to the label of the choice that was recorded
NONE_OF_THEM_BUTTON = "لا شيء منها"
WHICH_SENTENCE = (
    "أيّ جملة كانت الجواب؟ اختر رقمها (من 1 إلى {count})، أو «لا شيء منها» إن لم تُجب أيّ منها."
)
# Short notices answering a feedback press (never a message in the chat).
VOTE_COUNTED = "شكراً، سُجّل تقييمك {sign}"
VOTE_CHANGED = "غُيّر تقييمك إلى {sign}"
VOTE_UNCHANGED = "تقييمك {sign} مسجّل"
PICK_COUNTED = "شكراً، سُجّل أن الجواب في الجملة {rank}"
PICK_NONE = "شكراً، سُجّل أن أيّاً من الجمل لم يُجب"
VOTE_NOT_YOURS = "يقيّم الإجابةَ من طرح السؤال فقط."
VOTE_EXPIRED = "لم يعد تقييم هذه الإجابة ممكناً."
VOTE_UNAVAILABLE = "تعذّر تسجيل التقييم الآن؛ حاول لاحقاً."

# /stats: the question log of the last days (bot/storage/).
USAGE_HEADER = "<b>سجل الأسئلة</b> (آخر {days} أيام):"
USAGE_PER_DAY = "الأسئلة يومياً: {days}"
USAGE_QUESTIONS = "الأسئلة: {questions}، بلا نتائج: {no_hits} ({share})"
USAGE_VOTES = "التقييمات: 👍 {up} · 👎 {down}"
USAGE_LATENCY = "زمن الإجابة: الوسيط {p50} مللي ثانية، p95 {p95} مللي ثانية"
USAGE_NO_LATENCY = "زمن الإجابة: لا أسئلة بعد"
STORAGE_UNAVAILABLE = "سجل الأسئلة غير متاح: {reason}"

# /gaps
GAPS_HEADER = (
    "<b>فجوات التغطية</b> (آخر {days} يوماً): أكثر الأسئلة تكراراً بلا نتائج أو مع 👎، "
    "مجمّعة بكلماتها بعد التحليل:"
)
GAP_LINE = "{n}. {example} — {count} مرة (بلا نتائج: {no_hits}، 👎: {down})"
GAP_TERMS = "   الكلمات: {terms}"
NO_GAPS = "لا فجوات في آخر {days} يوماً: وجدت كل الأسئلة نتائج ولم يُقيَّم أيّ منها بـ 👎."

# «من نشر هذا؟» / `/who TEXT` (bot/who.py).
WHO_USAGE = (
    "الصق بعد الأمر جملة أو تصريحاً لأعرف من نشره، مثلاً:\n"
    "/who وقال وزير المياه إن مخزون السدود بلغ ثلاثين بالمئة من سعتها"
)
WHO_TOO_SHORT = (
    "النص قصير ({words} كلمة): أحتاج {minimum} كلمات على الأقل، "
    "وإلا طابق جملاً كثيرة لا علاقة لها به."
)
WHO_TOO_LONG = "النص طويل ({length} حرفاً): الصق جملة واحدة أو تصريحاً، حتى {limit} حرف."
WHO_NONE = "لم أجد في المصادر هذه الجملة ولا صيغة قريبة منها."
WHO_HEADER = "<b>من نشر هذا؟</b> {outlets} وسيلة، {documents} وثيقة، الأولى في {first}:"
WHO_HEADER_UNDATED = "<b>من نشر هذا؟</b> {outlets} وسيلة، {documents} وثيقة:"
WHO_SAME = "مطابقة"
WHO_NO_OUTLET = "وسيلة غير مسماة"
WHO_NO_DATE = "بلا تاريخ"
WHO_SIMILAR = "صياغة قريبة {percent}%"
WHO_MORE = "… و{documents} وثيقة أخرى في {outlets} وسيلة لم تتسع لها الرسالة."
WHO_TRUNCATED = "(نُظر في أقرب {limit} جملة فقط؛ قد توجد نسخ أخرى.)"

APOLOGY = "عذراً، حدث خطأ أثناء معالجة طلبك. حاول مرة أخرى بعد قليل."
