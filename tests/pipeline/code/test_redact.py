"""Redaction of emails, public IPs and secrets; versions and private addresses stay."""

import pytest

from glassworks.pipeline.code.redact import Redactor, redact
from glassworks.pipeline.documents import mark_dropped

# Fakes in the shapes the detectors know (AWS's own documentation example key, a made-up token).
AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB = "ghp_" + "abcdefghijklmnopqrstuvwxyz0123456789"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq98\nhRzVa9zN\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize("text, expected, counts", [
    ("# Author: Julian Andres Klode <jak@debian.org>", "# Author: Julian Andres Klode <<EMAIL>>", (1, 0, 0)),
    ("mailto:first.last+tag@mail.example.co.uk.", "mailto:<EMAIL>.", (1, 0, 0)),
    ('host = "93.184.216.34"', 'host = "<IP_ADDRESS>"', (0, 1, 0)),
    ("see 93.184.216.34.", "see <IP_ADDRESS>.", (0, 1, 0)),
    ('server = "1.2.3.4"', 'server = "<IP_ADDRESS>"', (0, 1, 0)),  # single digits, but the line is about a server
    ('ADDR = "2606:2800:220:1:248:1893:25c8:1946"', 'ADDR = "<IP_ADDRESS>"', (0, 1, 0)),
    (f'aws_access_key_id = "{AWS_ID}"', 'aws_access_key_id = "<SECRET>"', (0, 0, 1)),
    (f"aws_secret_access_key = '{AWS_SECRET}'", "aws_secret_access_key = '<SECRET>'", (0, 0, 1)),
    (f"TOKEN={GITHUB}", "TOKEN=<SECRET>", (0, 0, 1)),
    (f'auth = "{JWT}"', 'auth = "<SECRET>"', (0, 0, 1)),
    (f'KEY = """{PEM}"""\nprint(KEY)', 'KEY = """<SECRET>"""\nprint(KEY)', (0, 0, 1)),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\n(truncated)", "-----<SECRET>\n(truncated)", (0, 0, 1)),
])
def test_redacted(text, expected, counts):
    out, found = redact(text)
    assert out == expected
    assert (found["email"], found["ip_address"], found["secret"]) == counts


@pytest.mark.parametrize("text", [
    '__version__ = "3.11.2.1"',
    "VERSION = '3.11.2.1'",
    "requires = ['foo==3.11.2.1']",
    "Released v3.11.2.1 today",
    "Python 1.2.3.4",  # four single digits: a version (BigCode's rule)
    'ip = "10.0.0.1"  # private',
    "bind('127.0.0.1', 8080)",
    "EXAMPLE = '203.0.113.7'  # documentation range",
    "nameserver 8.8.8.8",  # a public DNS resolver, not a person
    'v6 = "2001:db8::1"; lo = "::1"',
    "std::vector<int> v; Foo::Bar::baz();",
    "at 12:30:45, mac 00:1a:2b:3c:4d:5e",
    "x = 1.2.3.4.5; y = 256.1.1.1; z = 01.2.3.4",
    '@property\ndef python(self): return "python@2.7"',
    "sha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'",
])
def test_kept(text):
    assert redact(text) == (text, {"email": 0, "ip_address": 0, "secret": 0})


def test_redactor_step_counts_and_skips_settled(corpus, helpers):
    settled = mark_dropped(helpers.make("mail me: a@b.org"), "earlier")
    docs = helpers.run([Redactor()], corpus + [settled])
    assert settled.text == "mail me: a@b.org" and "redactions" not in settled.metadata
    counts = {d.id: d.metadata["redactions"] for d in docs if d is not settled}
    redacted = {doc_id: found["email"] for doc_id, found in counts.items() if found["email"]}
    assert redacted == {"docs-vendor/tools/setup_command.py": 1, "sphinx-utils/sphinx/setup_command.py": 1,
                        "debianutils/installkernel": 1, "debianutils/update-shells": 1, "python-apt/apt/cdrom.py": 2,
                        "python-apt/apt/progress/__init__.py": 1, "python-apt/apt/progress/base.py": 1,
                        "python-apt/apt/progress/text.py": 1}
    assert "<basti.wiesner@gmx.net>" not in next(d for d in docs if d.id == "sphinx-utils/sphinx/setup_command.py").text
    assert all(found["ip_address"] == found["secret"] == 0 for found in counts.values())


def test_deterministic(corpus, helpers):
    texts = [d.text for d in corpus]
    assert [redact(t) for t in texts] == [redact(t) for t in texts]
