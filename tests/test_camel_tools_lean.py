"""The lean install: camel-tools' text utilities, and our import-free copies of the ones we use.

`retrieval.arabic_chars` restates five camel-tools functions so that `ask` does not
build camel-tools' Unicode tables at import. These tests hold the copies to the
originals on every code point and on real text, so no index term can change.
"""

import importlib.util
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import regex
from camel_tools.tokenizers.word import simple_word_tokenize
from camel_tools.utils import dediac as camel_dediac
from camel_tools.utils import normalize as camel_normalize
from camel_tools.utils.charmap import CharMapper
from camel_tools.utils.charsets import AR_DIAC_CHARSET

from retrieval import arabic_chars
from retrieval.normalize import normalize

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"

PAIRS: list[tuple[Callable[[str], str], Callable[[str], str]]] = [
    (arabic_chars.normalize_unicode, camel_normalize.normalize_unicode),
    (arabic_chars.dediac_ar, camel_dediac.dediac_ar),
    (arabic_chars.normalize_alef_ar, camel_normalize.normalize_alef_ar),
    (arabic_chars.normalize_alef_maksura_ar, camel_normalize.normalize_alef_maksura_ar),
    (arabic_chars.normalize_teh_marbuta_ar, camel_normalize.normalize_teh_marbuta_ar),
]
IDS = [ours.__name__ for ours, _ in PAIRS]
EVERY_CODE_POINT = "".join(map(chr, range(sys.maxunicode + 1)))


def test_the_utilities_we_use_import_and_work() -> None:
    assert camel_dediac.dediac_ar("كَتَبَ") == "كتب"
    assert camel_normalize.normalize_alef_ar("إطلاق") == "اطلاق"
    assert camel_normalize.normalize_alef_maksura_ar("على") == "علي"
    assert camel_normalize.normalize_teh_marbuta_ar("مدرسة") == "مدرسه"
    assert camel_normalize.normalize_unicode("ﻻ") == "لا"
    assert simple_word_tokenize("جونج-أون") == ["جونج", "-", "أون"]
    assert CharMapper.builtin_mapper("arclean")("كيم") == "كيم"


def test_heavy_dependencies_are_not_installed() -> None:
    for heavy in ("torch", "transformers", "kenlm", "sklearn", "pandas"):
        assert importlib.util.find_spec(heavy) is None, f"{heavy} should not be installed"


def test_our_diacritics_are_camel_tools_diacritics() -> None:
    assert set(arabic_chars.AR_DIACRITICS) == AR_DIAC_CHARSET
    assert len(arabic_chars.AR_DIACRITICS) == len(AR_DIAC_CHARSET)


@pytest.mark.parametrize(("ours", "camel"), PAIRS, ids=IDS)
def test_each_copy_equals_camel_tools_on_every_bmp_character(
    ours: Callable[[str], str], camel: Callable[[str], str]
) -> None:
    differ = [hex(c) for c in range(0x10000) if ours(chr(c)) != camel(chr(c))]
    assert differ == []


@pytest.mark.parametrize(("ours", "camel"), PAIRS, ids=IDS)
def test_each_copy_equals_camel_tools_on_all_of_unicode_at_once(
    ours: Callable[[str], str], camel: Callable[[str], str]
) -> None:
    assert ours(EVERY_CODE_POINT) == camel(EVERY_CODE_POINT)


def _camel_normalize(text: str) -> str:
    """retrieval.normalize.normalize as it was written with camel-tools' own functions."""
    text = camel_normalize.normalize_unicode(text)
    text = regex.sub(r"\p{Cc}", " ", regex.sub(r"\p{Cf}+", "", text))
    text = camel_dediac.dediac_ar(text).replace("\u0640", "")
    text = camel_normalize.normalize_alef_ar(text)
    text = camel_normalize.normalize_alef_maksura_ar(text)
    text = camel_normalize.normalize_teh_marbuta_ar(text)
    digits = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
    loans = str.maketrans({"گ": "ك", "ڤ": "ف", "پ": "ب", "چ": "ج", "ڠ": "غ", "ک": "ك", "ی": "ي"})
    return text.translate(digits).translate(loans).lower()


def _random_texts(count: int) -> list[str]:
    """Arabic-heavy strings with diacritics, alef forms, ligatures, presentation forms,
    format controls and a sprinkle of any BMP character: where the copies could slip."""
    rng = random.Random(16)
    arabic = [chr(c) for c in range(0x0600, 0x0700)]
    forms = [chr(c) for c in [*range(0xFB50, 0xFE00), *range(0xFE70, 0xFF00)]]
    special = ["\ufdfc", "\ufdfd", "\ufdfa", "\u200f", "\u200d", "\u2067", "\x1c", " ", "ـ"]
    pools = [arabic] * 6 + [forms] * 2 + [special]
    texts = []
    for _ in range(count):
        length = rng.randint(1, 40)
        chars = [
            chr(rng.randrange(0x10000)) if rng.random() < 0.05 else rng.choice(rng.choice(pools))
            for _ in range(length)
        ]
        texts.append("".join(chars))
    return texts


def test_normalize_equals_the_camel_tools_pipeline_on_the_seeds_and_random_text() -> None:
    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    texts += _random_texts(20_000)
    differ = [t for t in texts if normalize(t) != _camel_normalize(t)]
    assert differ == []


# `coverage-bot ask` in a fresh process; prints the heavy packages it imported and
# the corpus files it opened (Python's audit hook sees open() and os.open() alike,
# also relative to a folder descriptor).
_ASK_PROBE = """
import os, sys
corpus = os.path.realpath(sys.argv[1])
names = set(os.listdir(corpus))
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.fsdecode(args[0])
        if os.path.isabs(path):  # open(path)
            inside = os.path.realpath(path).startswith(corpus + os.sep)
        else:  # os.open(name, dir_fd=…): the loader opens files relative to the folder
            inside = os.path.basename(path) in names
        if inside:
            opened.append(path)
sys.addaudithook(hook)
from bot.cli import main
status = main(["ask", "ماذا قال كيم عن الإمبريالية؟", "--corpus", corpus])
heavy = ("camel_tools", "telegram", "httpx", "tqdm")
print(sorted({m.split(".")[0] for m in sys.modules if m.startswith(heavy)}), len(opened))
sys.exit(status)
"""


def test_answering_a_question_loads_only_what_it_uses(tmp_path: Path) -> None:
    """`ask` with a persisted index: no Unicode tables, no Telegram, no HTTP client, no
    tqdm, and not one corpus file read (the listing's `stat`s tell the index is current)."""
    corpus = tmp_path / "seeds"
    shutil.copytree(SEEDS, corpus)
    for path in corpus.iterdir():  # an hour old, so the listing trusts their mtimes
        old = path.stat().st_mtime_ns - 3600 * 10**9
        os.utime(path, ns=(old, old))
    env = {**os.environ, "COVERAGE_BOT_INDEX_DIR": str(tmp_path / "index")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", _ASK_PROBE, str(corpus)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )
        for _ in range(2)
    ]  # fmt: skip
    for done in runs:
        assert done.returncode == 0, done.stderr
        assert "الإمبريالية" in done.stdout
    first, second = (done.stdout.splitlines()[-1] for done in runs)
    assert first == "[] 6"  # builds the index: reads the five articles and sources.yaml
    assert second == "[] 0"
