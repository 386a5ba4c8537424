"""RefinedWeb line rules as DCLM applies them: each rule's kept and removed lines, the 5% drop."""

import gzip
import json
import pickle

import pytest
from datatrove.data import Document

from glassworks.pipeline.documents import DROP, AccountingWriter, mark_dropped
from glassworks.pipeline.filters.refinedweb import RefinedWebLines, count_words

STEP = RefinedWebLines()
BODY = "This sentence is ordinary prose and stays where it is."  # 10 words, no rule touches it


def corrected(line: str) -> str:
    """What becomes of one line between two ordinary ones."""
    text, _ = STEP.correct(f"{BODY}\n{line}\n{BODY}")
    assert text.startswith(BODY + "\n") and text.endswith("\n" + BODY)
    return text[len(BODY) + 1 : -len(BODY) - 1] if text != f"{BODY}\n{BODY}" else None


@pytest.mark.parametrize(("rule", "line", "stays"), [
    ("uppercase", "HOME ABOUT CONTACT", None),
    ("uppercase", "NASA and the ESA launched it together.", "NASA and the ESA launched it together."),
    ("uppercase", "ABC de", "ABC de"),  # exactly half upper case is not over the limit
    ("numeric", "12345", None),
    ("numeric", "12 345", "12 345"),  # a space is not a digit: only all-digit lines go
    ("numeric", "2024 was a good year", "2024 was a good year"),
    ("counter", "5 likes", None),
    ("counter", "3,000 comments", None),
    ("counter", " 1.2K views!", None),
    ("counter", "12 Followers", None),
    ("counter", "1 like", "1 like"),  # only the plural nouns are counters
    ("counter", "I got 5 likes on it.", "I got 5 likes on it."),
    ("short", "Menu", None),
    ("short", "   ", None),  # no words at all
    ("short", "Two words", "Two words"),
    ("items_in_cart", "Items in cart", None),
    ("items_in_cart", "You have 3 items in cart now", "You have 3 now"),
    ("items_in_cart", "0 items in cart", "0"),  # DCLM cuts the phrase only
    ("items_in_cart", "one two three four five six seven eight nine ten items in cart",
     "one two three four five six seven eight nine ten items in cart"),  # over 10 words: untouched
    ("read_more", "Great bread recipe. Read more...", "Great bread recipe."),
    ("read_more", "Read more...", None),
    ("read_more", "Our story, read more >>", "Our story,"),  # DCLM's dots are unescaped: any 3 chars
    ("read_more", "Read more about the history of bread", "Read more about the history of bread"),
    ("sign_in", "Sign-in to comment", "to comment"),
    ("short", "Sign-in", None),  # one word: gone before the sign-in rule sees it
    ("sign_in", "Please sign-in below", "Please sign-in below"),  # only at the start of a line
])
def test_each_rule(rule, line, stays):
    assert corrected(line) == stays
    _, removed = STEP.correct(f"{BODY}\n{line}\n{BODY}")
    assert removed[rule] == (stays is None)
    assert sum(removed.values()) == (stays is None)


def test_blank_lines_stay_and_the_page_is_stripped():
    text, removed = STEP.correct(f"\n\n{BODY}\n\n{BODY}\n  \n")
    assert text == f"{BODY}\n\n{BODY}" and sum(removed.values()) == 0


def test_words_are_counted_as_dclm_counts_them():
    """fastText splits on ASCII whitespace only; a word counts if it starts with a letter or digit."""
    assert count_words("Hello, world! -- (yes) 42 ü\u00a0x") == 4  # Hello, world!, 42, "ü\xa0x"
    assert count_words("") == 0


def page(shouted: int) -> str:
    """A 100-word page: one line of ``shouted`` capitalised words the rules remove, prose around it."""
    rest = 100 - shouted
    assert rest % 10 != 1  # a one-word line would be removed too
    lines = [BODY] * (rest // 10) + ([" ".join(["more"] * (rest % 10))] if rest % 10 else [])
    return "\n".join([lines[0], " ".join(["SHOUT"] * shouted), *lines[1:]])


@pytest.mark.parametrize(("removed", "dropped"), [(5, False), (6, True)])
def test_five_percent_boundary(removed, dropped):
    text = page(removed)
    assert count_words(text) == 100
    (doc,) = STEP.run([Document(text=text, id="p")])
    assert doc.metadata["refinedweb"] == {"lines_removed": 1, "words_removed_fraction": removed / 100}
    if dropped:
        assert doc.metadata[DROP] == "refinedweb_line_removal" and doc.text == text  # nothing lost
    else:
        assert DROP not in doc.metadata and "SHOUT" not in doc.text and count_words(doc.text) == 95


def test_the_step_pickles_for_executors():
    assert pickle.loads(pickle.dumps(STEP)).correct(f"{BODY}\n5 likes") == (BODY, STEP.correct(f"{BODY}\n5 likes")[1])


def test_untouched_page_and_page_without_words():
    (doc,) = STEP.run([Document(text=f"{BODY}\n{BODY}", id="a")])
    assert doc.metadata["refinedweb"] == {"lines_removed": 0, "words_removed_fraction": 0.0}
    assert doc.text == f"{BODY}\n{BODY}"
    (empty,) = STEP.run([Document(text="... --- !!!", id="b")])
    assert empty.metadata[DROP] == "refinedweb_no_words"


def test_settled_documents_pass_untouched(tmp_path):
    settled = mark_dropped(Document(text="HOME\n5 likes", id="s"), "earlier_step")
    kept = Document(text=page(2), id="k")
    lost = Document(text=page(30), id="l")
    writer = AccountingWriter(tmp_path, "web")
    out = list(writer.run(STEP.run([settled, kept, lost])))
    assert [d.id for d in out] == ["s", "k", "l"]
    assert settled.text == "HOME\n5 likes" and "refinedweb" not in settled.metadata
    dropped = [json.loads(line) for line in gzip.open(tmp_path / "dropped" / "web" / "00000.jsonl.gz", "rt")]
    reasons = [(d["id"], d["metadata"][DROP]) for d in dropped]
    assert reasons == [("s", "earlier_step"), ("l", "refinedweb_line_removal")]
    assert writer.stats["kept"].total == 1 and writer.stats["dropped"].total == 2
