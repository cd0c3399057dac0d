"""Odd and hostile corpus folders: problems are reported, everything else loads."""

import json
import os
import resource
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

from retrieval.corpus import load_corpus
from retrieval.engine import Engine
from retrieval.search import search

GOOD = "التقى كيم وبوتين في قاعدة فوستوشني الفضائية."
ROOT = Path(__file__).resolve().parent.parent


def reasons(folder: Path) -> dict[str, str]:
    return {p.path: p.reason for p in load_corpus(folder).problems}


def test_a_50_mb_file_is_skipped_as_too_large(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    with (tmp_path / "dump.txt").open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: cheap to make
    corpus = load_corpus(tmp_path)
    assert [d.doc for d in corpus.documents] == ["good.txt"]
    assert reasons(tmp_path)["dump.txt"].startswith("skipped, too large (52,428,800 bytes")


def test_a_file_with_one_1_mb_line_is_indexed_in_bounded_sentences(tmp_path: Path) -> None:
    line = ("كلمة عربية طويلة " * 60_000)[: 1024 * 1024 // 2]
    (tmp_path / "long.txt").write_text(line + " فوستوشني", encoding="utf-8")
    snapshot = Engine(tmp_path).open()
    index = snapshot.index
    assert index.n_sentences > 500
    assert max(index.sent_end - index.sent_start) <= 1000
    assert search(index, "فوستوشني").hits


def test_a_file_of_only_diacritics_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "marks.txt").write_text("َُِّْ" * 100, encoding="utf-8")
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    assert reasons(tmp_path) == {
        "marks.txt": "skipped, no words (only marks, punctuation or symbols)"
    }


def test_mixed_and_legacy_encodings_are_skipped_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "mixed.txt").write_bytes(GOOD.encode("utf-8") + "كيم".encode("cp1256"))
    (tmp_path / "windows.txt").write_bytes((GOOD * 3).encode("cp1256"))
    (tmp_path / "utf16.txt").write_bytes(GOOD.encode("utf-16"))
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    found = reasons(tmp_path)
    assert found["mixed.txt"].startswith("skipped, not UTF-8 (bad byte at offset")
    assert found["windows.txt"].endswith("convert with iconv -f cp1256 -t utf-8")
    assert found["utf16.txt"].endswith("it looks like UTF-16: convert it to UTF-8")
    (bom,) = load_corpus(tmp_path).documents
    assert bom.doc == "bom.txt" and bom.text == GOOD


def test_a_symlinked_folder_is_not_followed_out_of_the_corpus(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("سر.", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    os.symlink(outside, corpus / "linked")
    assert [d.doc for d in load_corpus(corpus).documents] == ["good.txt"]


def test_names_with_spaces_and_arabic_letters_load_and_cite(tmp_path: Path) -> None:
    (tmp_path / "تقارير القمة").mkdir()
    (tmp_path / "تقارير القمة" / "لقاء كيم وبوتين.txt").write_text(GOOD, encoding="utf-8")
    (hit,) = search(Engine(tmp_path).open().index, "فوستوشني").hits
    assert hit.source.doc == "تقارير القمة/لقاء كيم وبوتين.txt"
    assert hit.source.title == "لقاء كيم وبوتين"


def test_a_folder_of_10000_small_files_loads(tmp_path: Path) -> None:
    for i in range(10_000):
        (tmp_path / f"{i:05d}.txt").write_text(f"خبر رقم {i} عن القمة.", encoding="utf-8")
    snapshot = Engine(tmp_path, tmp_path.parent / "cache").open()
    assert len(snapshot.index.sources) == 10_000
    assert snapshot.problems == []
    assert search(snapshot.index, "خبر رقم 9999").hits[0].source.doc == "09999.txt"


def test_an_unreadable_file_is_skipped(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root reads everything; a dangling link is the unreadable file root meets.
        os.symlink(tmp_path / "gone.txt", tmp_path / "dangling.txt")
        name = "dangling.txt"
    else:
        (tmp_path / "locked.txt").write_text(GOOD, encoding="utf-8")
        (tmp_path / "locked.txt").chmod(0)
        name = "locked.txt"
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    assert [d.doc for d in load_corpus(tmp_path).documents] == ["good.txt"]
    assert reasons(tmp_path)[name].startswith("skipped, cannot be read")


def test_named_pipes_sockets_and_devices_are_skipped_without_blocking(tmp_path: Path) -> None:
    # Reading a named pipe waits for a writer forever; a device may never end. The load
    # below would hang (and the test time out) if any of them were opened for reading.
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.txt")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "socket.md"))
    expected = {
        "pipe.txt": "skipped, not a regular file (a named pipe)",
        "socket.md": "skipped, not a regular file (a socket)",
    }
    if os.geteuid() == 0:  # only root may make device nodes
        os.mknod(tmp_path / "zero.txt", 0o600 | stat.S_IFCHR, os.makedev(1, 5))
        expected["zero.txt"] = "skipped, not a regular file (a character device)"
    result: list = []
    loader = threading.Thread(target=lambda: result.append(load_corpus(tmp_path)), daemon=True)
    loader.start()
    loader.join(timeout=10)
    listener.close()
    assert result, "loading the corpus blocked on a special file"
    assert [d.doc for d in result[0].documents] == ["good.txt"]
    assert {p.path: p.reason for p in result[0].problems} == expected


# Nine levels of aliases, nine references each: 9**9 "lol"s (about 2.7 GB of text) once
# the title is turned into a string, in 558 bytes of front matter.
def alias_bomb() -> str:
    lines = ["---", 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    lines.append("title: [" + ", ".join(["*h"] * 9) + "]")
    lines += ["outlet: وكالة الأنباء", "url: https://x.org", "---", GOOD]
    return "\n".join(lines) + "\n"


# Runs in a child process under a 1 GiB address-space limit, so a loader that expands
# the aliases fails there with MemoryError instead of taking the machine's memory.
MEASURE = """
import json, resource, sys, time
from retrieval.corpus import load_corpus
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
corpus = load_corpus(sys.argv[1])
seconds = time.perf_counter() - started
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({
    "seconds": seconds, "grown_kb": grown,
    "titles": {d.doc: d.source.title for d in corpus.documents},
    "problems": [str(p) for p in corpus.problems],
}))
"""


def load_measured(folder: Path) -> dict:
    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    child = subprocess.run(
        [sys.executable, "-c", MEASURE, str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        preexec_fn=limit_memory,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    return json.loads(child.stdout)


def test_a_558_byte_yaml_alias_bomb_is_refused_in_under_2_s_and_50_mb(tmp_path: Path) -> None:
    bomb = alias_bomb()
    assert len(bomb.encode("utf-8")) == 558
    (tmp_path / "bomb.md").write_text(bomb, encoding="utf-8")
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    result = load_measured(tmp_path)
    assert result["seconds"] < 2
    assert result["grown_kb"] < 50 * 1024
    # The file still loads, cited by its name and its plain outlet; the title is refused.
    assert result["titles"] == {"bomb.md": "bomb", "good.txt": "good"}
    assert (
        "bomb.md: front matter: title ignored, a YAML alias (*h) is not allowed; "
        "write the value out" in result["problems"]
    )


def test_aliases_in_sources_yaml_are_refused_entry_by_entry(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.txt").write_text(GOOD, encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        "a.txt:\n  title: لقاء القمة\n  outlet: &afp فرانس برس\n"
        "b.txt:\n  title: القمة في فوستوشني\n  outlet: *afp\n",
        encoding="utf-8",
    )
    corpus = load_corpus(tmp_path)
    a, b = (d.source for d in corpus.documents)
    assert (a.title, a.outlet) == ("لقاء القمة", "فرانس برس")
    assert (b.title, b.outlet) == ("القمة في فوستوشني", None)
    assert [str(p) for p in corpus.problems] == [
        "sources.yaml: entry 'b.txt': outlet ignored, "
        "a YAML alias (*afp) is not allowed; write the value out"
    ]


def test_a_title_of_500_nested_brackets_in_sources_yaml_is_reported_not_raised(
    tmp_path: Path,
) -> None:
    # It used to raise RecursionError out of load_corpus: every reload failed and
    # every start exited 1.
    (tmp_path / "deep.txt").write_text(GOOD, encoding="utf-8")
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        "deep.txt:\n  title: " + "[" * 500 + "]" * 500 + "\n  outlet: وكالة\n"
        "good.txt:\n  title: لقاء كيم وبوتين\n",
        encoding="utf-8",
    )
    corpus = load_corpus(tmp_path)
    deep, good = (d.source for d in corpus.documents)
    assert (deep.title, deep.outlet) == ("deep", "وكالة")
    assert good.title == "لقاء كيم وبوتين"
    assert [str(p) for p in corpus.problems] == [
        "sources.yaml: entry 'deep.txt': title ignored, nested more than 8 levels deep"
    ]


def test_front_matter_nested_100000_deep_skips_only_that_file(tmp_path: Path) -> None:
    deep = "---\ntitle: " + "[" * 100_000 + "]" * 100_000 + "\n---\n" + GOOD
    (tmp_path / "deep.md").write_text(deep, encoding="utf-8")
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert [d.doc for d in corpus.documents] == ["good.txt"]
    (problem,) = corpus.problems
    assert problem.path == "deep.md"
    assert problem.reason.startswith("skipped, broken front matter:")


def test_metadata_must_be_short_plain_text(tmp_path: Path) -> None:
    long_title = "قمة " * 1350  # 5,400 characters
    (tmp_path / "a.md").write_text(
        f"---\ntitle: {long_title}\noutlet: [وكالة, أخرى]\nurl: https://example.org/{'x' * 2000}\n"
        "date: {year: 2023}\n---\n" + GOOD,
        encoding="utf-8",
    )
    corpus = load_corpus(tmp_path)
    (source,) = (d.source for d in corpus.documents)
    assert len(source.title) == 300
    assert source.title == long_title.strip()[:299].rstrip() + "…"
    assert (source.outlet, source.url, source.date) == (None, None, None)
    assert [p.reason for p in corpus.problems] == [
        "front matter: title cut to 300 characters (it had 5,399)",
        "front matter: outlet ignored, a list is not plain text",
        "front matter: url ignored, longer than 2000 characters (2,020)",
        "front matter: date ignored, a mapping is not plain text",
    ]


def test_scalars_stay_the_text_that_was_written(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "---\ntitle: 2023\noutlet: yes\ndate: 2023-09-13\nurl: ~\n---\n" + GOOD, encoding="utf-8"
    )
    (source,) = (d.source for d in load_corpus(tmp_path).documents)
    assert (source.title, source.outlet, source.date, source.url) == (
        "2023",
        "yes",
        "2023-09-13",
        None,
    )


def test_bidi_and_control_characters_are_removed_from_metadata_and_names(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        'a.txt:\n  title: "كيم\\u2069\\u202e يصل"\n  outlet: "وكالة\\x1b[2J\\nسطر"\n',
        encoding="utf-8",
    )
    (tmp_path / "a.txt").write_text(GOOD, encoding="utf-8")
    (tmp_path / "تقرير\u202e\x1b]0;x\x07.txt").write_text(GOOD, encoding="utf-8")
    a, named = (d.source for d in load_corpus(tmp_path).documents)
    assert (a.title, a.outlet) == ("كيم يصل", "وكالة[2J سطر")
    assert named.title == "تقرير]0;x"
    assert named.doc == "تقرير\u202e\x1b]0;x\x07.txt"  # the file's real name, to open it
