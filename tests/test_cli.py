"""The command line, run as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCES_YAML = yaml.safe_load((ROOT / "seeds" / "sources.yaml").read_text(encoding="utf-8"))


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def seed_config(tmp_path: Path) -> Path:
    return config(
        tmp_path,
        f"corpus:\n  path: {ROOT / 'seeds'}\n  index_dir: {tmp_path / 'index'}\n",
    )


def test_ask_json_has_the_documented_shape(tmp_path: Path) -> None:
    result = run(
        "ask", "--json", "--config", str(seed_config(tmp_path)), "أين عقدت القمة بين كيم وبوتين؟"
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["question"] == "أين عقدت القمة بين كيم وبوتين؟"
    assert answer["outcome"] == "answer"
    assert 1 <= len(answer["hits"]) <= 5
    for rank, hit in enumerate(answer["hits"], start=1):
        assert hit["rank"] == rank
        assert isinstance(hit["score"], float)
        assert isinstance(hit["text"], str) and hit["text"]
        assert (ROOT / "seeds" / hit["doc"]).is_file()
        assert isinstance(hit["title"], str) and hit["title"]
        assert hit["sources"][0]["doc"] == hit["doc"]
        start, end = hit["span"]
        file_text = (ROOT / "seeds" / hit["doc"]).read_text(encoding="utf-8")
        assert file_text[start:end] == hit["text"], "span is the sentence's place in its file"
        assert isinstance(hit["position"], int) and hit["position"] >= 0
        for source in hit["sources"]:
            assert set(source) == {"doc", "title", "url", "outlet", "date"}
            listed = SOURCES_YAML[source["doc"]]
            assert source["title"] == listed["title"]
            assert source["outlet"] == listed.get("outlet")
            assert source["date"] == (str(listed["date"]) if "date" in listed else None)
            assert source["url"] is None, "the seeds have no addresses"
    # Normalized and stemmed; stop words (أين، بين) and the و clitic are gone.
    assert answer["terms"] == ["عقدت", "قم", "كيم", "بوت"]
    assert answer["has_more"] is True, "more than five seed sentences hold these words"
    positions = {(h["doc"], h["position"]) for h in answer["hits"]}
    assert len(positions) == len(answer["hits"]), "each hit is its own sentence"


def test_ask_json_says_when_there_is_nothing_more(tmp_path: Path) -> None:
    question = "كم ثانية استمرت المصافحة بين بوتين وكيم؟"
    result = run("ask", "--json", "--k", "50", "--config", str(seed_config(tmp_path)), question)
    answer = json.loads(result.stdout)
    assert 1 <= len(answer["hits"]) < 50
    assert answer["has_more"] is False
    hit = next(h for h in answer["hits"] if "40 ثانية" in h["text"])
    assert hit["doc"] == "001_76385d4a09d3e801.txt"


def test_ask_marks_related_hits_as_no_direct_answer(tmp_path: Path) -> None:
    question = "كم كيلومتراً قطع قطار كيم من بيونغ يانغ إلى القاعدة الفضائية؟"
    result = run("ask", "--config", str(seed_config(tmp_path)), question)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "لا توجد إجابة مباشرة — جمل ذات صلة:"
    assert lines[1].startswith("1. ")
    answer = json.loads(
        run("ask", "--json", "--config", str(seed_config(tmp_path)), question).stdout
    )
    assert answer["outcome"] == "related" and answer["hits"]


def test_ask_prints_numbered_sentences_with_their_sources(tmp_path: Path) -> None:
    result = run("ask", "--config", str(seed_config(tmp_path)), "--k", "2", "وزير الدفاع الروسي")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("1. ") and "سيرغي شويغو" in lines[0]
    assert lines[1].strip().startswith("[002_092c1b17ba5817fe.txt]")


def test_no_answer_is_said_in_arabic(tmp_path: Path) -> None:
    result = run("ask", "--config", str(seed_config(tmp_path)), "من فاز بكأس العالم؟")
    assert result.returncode == 0
    assert result.stdout.startswith("لم أجد")


def test_a_missing_corpus_is_one_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    result = run("ask", "--config", str(seed_config(tmp_path)), "--corpus", "/no/such", "سؤال")
    assert result.returncode == 1
    assert result.stderr.strip() == "coverage-bot: corpus folder /no/such does not exist"


def test_index_reports_documents_sentences_and_problems(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("التقى الزعيمان. وتحدثا طويلا.", encoding="utf-8")
    (corpus / "b.txt").write_bytes(b"\xff\xfe bad")
    cfg = config(tmp_path, f"corpus:\n  path: {corpus}\n  index_dir: {tmp_path / 'i'}\n")
    result = run("index", "--config", str(cfg))
    assert result.returncode == 0, result.stderr
    assert "documents: 1  sentences: 2" in result.stdout
    assert "b.txt: skipped, not UTF-8" in result.stdout
    again = run("index", "--config", str(cfg))
    assert "read from cache" in again.stdout


def test_a_bad_config_names_the_file_and_the_key(tmp_path: Path) -> None:
    cfg = config(tmp_path, "corpus:\n  path: seeds\nretrieval:\n  top_k: lots\n")
    result = run("ask", "--config", str(cfg), "سؤال")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"coverage-bot: {cfg}: key 'retrieval.top_k' must be a whole number from 1 to 50, "
        "got 'lots'"
    )


def test_the_config_can_come_from_the_environment(tmp_path: Path) -> None:
    cfg = config(tmp_path, "corpus:\n  path: nowhere\n")
    result = run("ask", "سؤال", env={"COVERAGE_BOT_CONFIG": str(cfg)})
    assert result.returncode == 1
    assert str(tmp_path / "nowhere") in result.stderr
