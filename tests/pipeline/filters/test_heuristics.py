"""The stock filters, configured, decide through MarkingFilter with either splitter, offline."""

import os
import subprocess
import sys
import textwrap

import pytest
from datatrove.data import Document

from glassworks.pipeline.documents import DROP, MarkingFilter
from glassworks.pipeline.filters.heuristics import SPACY_ENGLISH, stock_filters
from glassworks.pipeline.filters.words import FAST_ENGLISH

GOOD = "\n".join([
    "The old lighthouse on the northern cape was built in 1871 to guide fishing boats home through the winter storms.",
    "For more than a century, a keeper and his family lived in the small stone house beside the tower and kept the "
    "lamp burning every night.",
    "When the light was automated in 1962, the last keeper moved to the village, but he still walked up the hill each "
    "evening to watch the beam turn.",
    "Today the building belongs to a local trust that repairs the roof, paints the iron gallery and opens the tower to "
    "visitors during the summer months.",
    "Volunteers tell the story of the wreck that led to its construction, and they show the logbooks in which the "
    "keepers recorded the weather.",
    "Schoolchildren come in spring to learn how the lens works and why the light flashes in a pattern that sailors can "
    "recognise from far away.",
])

MENU = ["Home", "About us", "Products and services", "Contact", "Careers at the company", "Blog", "Privacy"]
BAD = {  # filter: (text, the reason it gives)
    "gopher_quality": ("Buy now. Click here. Best prices.", "gopher_short_doc"),
    "gopher_repetition": ("\n".join(["Subscribe to our newsletter for the latest deals."] * 10), "dup_line_frac"),
    "c4_quality": (GOOD + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.", "lorem_ipsum"),
    "fineweb_quality": ("\n".join(MENU), "line_punct_ratio"),
}
SPLITTERS = {"fast": FAST_ENGLISH, "spacy": SPACY_ENGLISH}


def judge(label: str, text: str, words) -> Document:
    step = MarkingFilter(stock_filters(words)[label], label)
    (doc,) = step.run([Document(text=text, id="doc")])
    return doc


@pytest.mark.parametrize("splitter", SPLITTERS)
@pytest.mark.parametrize("label", BAD)
def test_clear_good_is_kept(label, splitter):
    if splitter == "spacy":
        pytest.importorskip("spacy")
    doc = judge(label, GOOD, SPLITTERS[splitter])
    assert DROP not in doc.metadata
    assert doc.text == GOOD  # C4 edits kept text, but every line here is a sentence


@pytest.mark.parametrize("splitter", SPLITTERS)
@pytest.mark.parametrize("label", BAD)
def test_clear_bad_is_marked_with_its_reason(label, splitter):
    if splitter == "spacy":
        pytest.importorskip("spacy")
    text, reason = BAD[label]
    doc = judge(label, text, SPLITTERS[splitter])
    assert doc.metadata[DROP] == f"{label}:{reason}"
    assert doc.text == text  # a rejected document keeps its text


def test_c4_removes_lines_it_does_not_keep():
    doc = judge("c4_quality", GOOD + "\nShare this page\nEnable JavaScript to see the map.", FAST_ENGLISH)
    assert DROP not in doc.metadata and doc.text == GOOD


OFFLINE = textwrap.dedent("""
    import socket, sys
    def refuse(*args, **kwargs):
        raise OSError("network used")
    socket.socket.connect = socket.socket.connect_ex = refuse
    socket.create_connection = socket.getaddrinfo = refuse
    from datatrove.data import Document
    from glassworks.pipeline.filters.heuristics import SPACY_ENGLISH, stock_filters
    from glassworks.pipeline.filters.words import FAST_ENGLISH
    text = "It was a quiet night. The keeper lit the lamp. Ships passed the cape. " * 12
    for words in (SPACY_ENGLISH, FAST_ENGLISH):
        for step in stock_filters(words).values():
            step.filter(Document(text=text, id="x"))
    print("nltk" in sys.modules)
""")


def test_no_download_and_no_nltk_data(tmp_path):
    """Sockets refused, no NLTK data, hub offline: all four filters still decide, with both splitters."""
    pytest.importorskip("spacy")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(NLTK_DATA=str(tmp_path), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", OFFLINE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"  # NLTK (and so punkt) never imported
