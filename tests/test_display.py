"""What `printable` keeps and removes from corpus text shown to people."""

from retrieval.display import printable


def test_arabic_title_is_kept_as_written() -> None:
    assert printable("كيم يتعهد بالدعم الكامل لبوتين") == "كيم يتعهد بالدعم الكامل لبوتين"


def test_bidi_override_and_isolate_closers_are_removed() -> None:
    # A title that closes the reply's isolate (U+2069) and reverses the rest (U+202E).
    assert printable("قمة\u2069\u202eفوستوشني") == "قمةفوستوشني"
    assert printable("\u2066a\u2067b\u2068c\u202ad\u202be\u202cf\u200e\u200f\u061c") == "abcdef"


def test_line_breaks_become_one_space_so_a_name_cannot_fake_a_line() -> None:
    assert printable("تقرير\n\nمزيف\r\nسطر") == "تقرير مزيف سطر"
    assert printable("a\tb\u2028c") == "a b c"


def test_terminal_escape_sequences_lose_their_control_characters() -> None:
    shown = printable("x\x1b]0;owned\x07\x1b[2Jy")
    assert "\x1b" not in shown and "\x07" not in shown
    assert shown == "x]0;owned[2Jy"


def test_c1_controls_and_del_are_removed() -> None:
    assert printable("a\x85b\x9bc\x7fd") == "a bcd"
