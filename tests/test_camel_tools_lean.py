"""The lean install: camel-tools' text utilities work without PyTorch and friends."""

import importlib.util

from camel_tools.tokenizers.word import simple_word_tokenize
from camel_tools.utils.charmap import CharMapper
from camel_tools.utils.dediac import dediac_ar
from camel_tools.utils.normalize import (
    normalize_alef_ar,
    normalize_alef_maksura_ar,
    normalize_teh_marbuta_ar,
    normalize_unicode,
)


def test_the_utilities_we_use_import_and_work() -> None:
    assert dediac_ar("كَتَبَ") == "كتب"
    assert normalize_alef_ar("إطلاق") == "اطلاق"
    assert normalize_alef_maksura_ar("على") == "علي"
    assert normalize_teh_marbuta_ar("مدرسة") == "مدرسه"
    assert normalize_unicode("ﻻ") == "لا"
    assert simple_word_tokenize("جونج-أون") == ["جونج", "-", "أون"]
    assert CharMapper.builtin_mapper("arclean")("كيم") == "كيم"


def test_heavy_dependencies_are_not_installed() -> None:
    for heavy in ("torch", "transformers", "kenlm", "sklearn", "pandas"):
        assert importlib.util.find_spec(heavy) is None, f"{heavy} should not be installed"
