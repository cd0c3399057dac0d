"""What the command line prints about a corpus cannot drive the operator's terminal.

A file named with ESC ] 0 ; … BEL retitles a terminal window and ESC [ 2 J clears the
screen; U+202E reverses the rest of a line. Corpus names, titles, sentences and problem
reasons reach stdout only through `retrieval.display.printable`.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ESCAPES = "\x1b]0;x\x07\x1b[2J"
UNSAFE = ("\x1b", "\x07", "\u202e", "\u2069")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ.copy(),
        timeout=60,
    )


def hostile_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / f"{ESCAPES}قمة.txt").write_text(
        "التقى كيم وبوتين في قاعدة فوستوشني الفضائية.", encoding="utf-8"
    )
    (corpus / "b.md").write_text(
        '---\ntitle: "لقاء\\u2069\\u202e الزعيمين"\n---\n'
        "وصل كيم إلى فوستوشني بالقطار\x1b[2J المصفح.",
        encoding="utf-8",
    )
    (corpus / f"{ESCAPES}.txt").write_bytes(b"\xff\xfe bad")  # a problem naming it
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus:\n  path: {corpus}\n  index_dir: {tmp_path / 'i'}\n")
    return config


def test_index_prints_no_escape_bell_or_bidi_control(tmp_path: Path) -> None:
    config = hostile_corpus(tmp_path)
    for attempt in ("built", "read from cache"):  # problems also come back from the cache
        result = run("index", "--config", str(config))
        assert result.returncode == 0, result.stderr
        assert f"index: {attempt}" in result.stdout
        assert [c for c in UNSAFE if c in result.stdout + result.stderr] == []
        assert "documents: 2" in result.stdout
        assert "  ]0;x[2J.txt: skipped, not UTF-8" in result.stdout


def test_ask_prints_no_escape_bell_or_bidi_control(tmp_path: Path) -> None:
    config = str(hostile_corpus(tmp_path))
    result = run("ask", "--config", config, "أين التقى كيم وبوتين؟")
    assert result.returncode == 0, result.stderr
    assert [c for c in UNSAFE if c in result.stdout + result.stderr] == []
    assert "   []0;x[2Jقمة.txt] ]0;x[2Jقمة" in result.stdout.splitlines()
    again = run("ask", "--config", config, "قطار كيم المصفح")
    assert [c for c in UNSAFE if c in again.stdout] == []
    assert "وصل كيم إلى فوستوشني بالقطار[2J المصفح." in again.stdout
    assert "   [b.md] لقاء الزعيمين" in again.stdout.splitlines()
