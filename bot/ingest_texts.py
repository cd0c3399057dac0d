"""The Arabic texts of uploads, /add and /remove (Telegram HTML; callers escape fill-ins)."""

from __future__ import annotations

ADMIN_ONLY = "عذراً، هذا الأمر للمشرفين فقط."
NOT_ADMIN_REASON = "only admins can add documents; the file was not downloaded"
UPLOADS_OFF_REASON = "uploads are off: set corpus.uploads (or corpus.index_dir) in the config"
ADD_USAGE = (
    "أرسل الرابط بعد الأمر، مثلاً:\n/add https://example.org/article\n"
    "ويمكن تعديل البيانات في أسطر تالية: title: أو outlet: أو date: أو url:"
)
REMOVE_USAGE = "اكتب اسم الوثيقة بعد الأمر، مثلاً:\n/remove uploads/اسم-الملف.md"

NOT_ADDED = "لم تُضَف الوثيقة {culprit}:"
ADDED = "أُضيفت الوثيقة: {title}"
ADDED_AS = "اسمها في المصادر: {doc}"
OUTLET = "الوسيلة: {outlet}"
DATE = "التاريخ: {date}"
SENTENCES = "الجمل المضافة: {count} (فُهرست في {seconds} ث)"
NOTE = "ملاحظة: {note}"
FOLDERS = "المجلدات المقروءة: {folders}"
HOW_TO_REMOVE = "للحذف: زر «حذف» أو {doc}"
STORED_NOT_INDEXED = "حُفظت الوثيقة {doc} لكن تعذّر تحديث الفهرس:"

REMOVE_BUTTON = "حذف"
REMOVED = "حُذفت الوثيقة {doc} من المصادر."
NOT_REMOVED = "لم تُحذف {doc}:"
MAIN_CORPUS = (
    "الوثيقة {doc} في مجلد المصادر الرئيسي؛ البوت لا يحذف وثائقه "
    "(it is in the main corpus folder; the bot does not delete those)."
)
ALREADY_GONE = "هذه الوثيقة لم تعد موجودة في مجلد الإضافات."
