"""Redact emails, public IP addresses and secrets in code, as BigCode did for StarCoder.

- Emails become ``<EMAIL>``.
- IP addresses become ``<IP_ADDRESS>`` only where they are global, as BigCode chose:
  private, loopback, link-local and documentation ranges point at no one, and BigCode's
  well-known public DNS resolvers are services, not people. Dotted numbers that are
  versions stay: those after a version word on their line (``version``, ``release``,
  ``v``, ``==``, ...), and four single digits (BigCode's x.x.x.x rule) unless the line
  speaks of a dns, server, host or address.
- Secrets become ``<SECRET>``: whole PEM private-key blocks, and what detect-secrets'
  vendor-token plugins find on each line (AWS keys, GitHub/GitLab/Slack/Stripe tokens,
  JWTs, private-key headers), run in process with no files written. Like BigCode we leave
  out the keyword, basic-auth and high-entropy plugins, which in code flag test fixtures
  and hashes far more often than secrets.

Where BigCode drew random replacement addresses, placeholders here are fixed, so the
output is deterministic. Counts per kind go to ``metadata["redactions"]``.
"""

from __future__ import annotations

import ipaddress
import re

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from glassworks.pipeline.documents import is_settled

PLACEHOLDERS = {"email": "<EMAIL>", "ip_address": "<IP_ADDRESS>", "secret": "<SECRET>"}
SECRET_PLUGINS = tuple(plugin() for plugin in (
    ArtifactoryDetector, AWSKeyDetector, AzureStorageKeyDetector, DiscordBotTokenDetector, GitHubTokenDetector,
    GitLabTokenDetector, JwtTokenDetector, MailchimpDetector, NpmDetector, OpenAIDetector, PrivateKeyDetector,
    PypiTokenDetector, SendGridDetector, SlackDetector, SquareOAuthDetector, StripeDetector,
    TelegramBotTokenDetector, TwilioKeyDetector,
))
"""detect-secrets plugins with fixed token shapes (the IBM and Cloudant ones are
keyword-assignment rules like the keyword plugin, and left out with it)."""
PEM_KEY = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK|)-----.*?-----END \1PRIVATE KEY\2-----", re.S)
DELIMITERS = " \t=:\"'"
EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
                   r"[A-Za-z]{2,}(?![\w-])")
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:]|\.\d)")
GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
DNS_RESOLVERS = frozenset({
    "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "76.76.19.19", "76.223.122.150", "9.9.9.9", "149.112.112.112",
    "208.67.222.222", "208.67.220.220", "8.26.56.26", "8.20.247.20", "94.140.14.14", "94.140.15.15",
})
"""BigCode's list of public DNS resolvers, kept as they are."""
VERSION_BEFORE = re.compile(r"(?i)(?:version|release|rev)\w*[\s:=\"'(]*$|(?<![a-z])(?:v|ver)\.?\s?$|[=<>~!]=\s*[\"']?$")
NETWORK_WORDS = re.compile(r"(?i)dns|server|host|addr|\bip")


def _secret_spans(line: str) -> list[tuple[int, int]]:
    """Where the secret plugins' matches lie on a line, narrowed to the secret itself.

    A plugin reports values (after its own checks, e.g. JWT well-formedness); the span is
    its pattern's last long capture group, else the whole match, without delimiters and
    stretched over the rest of a token (detect-secrets' JWT and GitHub patterns stop short).
    """
    spans = []
    for plugin in SECRET_PLUGINS:
        reported = set(plugin.analyze_string(line))
        for pattern in plugin.denylist if reported else ():
            for match in pattern.finditer(line):
                if not any(value in match.group(0) for value in reported):
                    continue
                groups = [i for i in range(1, pattern.groups + 1) if len(match.group(i) or "") >= 8]
                start, end = match.span(groups[-1]) if groups else match.span()
                while start < end and line[start] in DELIMITERS:
                    start += 1
                while end > start and line[end - 1] in DELIMITERS:
                    end -= 1
                while end < len(line) and (line[end].isalnum() or line[end] in "_-+/="):
                    end += 1
                spans.append((start, end))
    return spans


def _replace(text: str, spans: list[tuple[int, int]], placeholder: str) -> tuple[str, int]:
    """Replace the union of spans; return the new text and how many regions were replaced."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, last = [], 0
    for start, end in merged:
        pieces += [text[last:start], placeholder]
        last = end
    return "".join(pieces) + text[last:], len(merged)


def _is_public_ip(text: str, start: int, end: int) -> bool:
    candidate = text[start:end]
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    if address.version == 6:
        return address.is_global and address in GLOBAL_UNICAST_V6  # not a C++ scope like dead::beef
    line_start, line_end = text.rfind("\n", 0, start) + 1, text.find("\n", end)
    line = text[line_start: line_end if line_end != -1 else len(text)]
    if VERSION_BEFORE.search(text[max(line_start, start - 40): start]):
        return False
    if len(candidate) == 7 and not NETWORK_WORDS.search(line):  # 1.2.3.4: a version, says BigCode
        return False
    return address.is_global and not address.is_multicast and candidate not in DNS_RESOLVERS


def redact(text: str) -> tuple[str, dict[str, int]]:
    """The text with secrets, emails and public IP addresses replaced, and how many of each."""
    counts = dict.fromkeys(PLACEHOLDERS, 0)
    text, counts["secret"] = _replace(text, [m.span() for m in PEM_KEY.finditer(text)], PLACEHOLDERS["secret"])
    spans, offset = [], 0
    for line in text.splitlines(keepends=True):
        spans += [(offset + start, offset + end) for start, end in _secret_spans(line)]
        offset += len(line)
    text, found = _replace(text, spans, PLACEHOLDERS["secret"])
    counts["secret"] += found
    text, counts["email"] = _replace(text, [m.span() for m in EMAIL.finditer(text)], PLACEHOLDERS["email"])
    ips = [m.span() for pattern in (IPV4, IPV6) for m in pattern.finditer(text) if _is_public_ip(text, *m.span())]
    text, counts["ip_address"] = _replace(text, ips, PLACEHOLDERS["ip_address"])
    return text, counts


class Redactor(PipelineStep):
    """Replace emails, public IPs and secrets with placeholders; count them in ``metadata["redactions"]``."""

    name = "🕶 redactor"
    type = "✂️ - FORMAT"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            if not is_settled(doc):
                doc.text, counts = redact(doc.text)
                doc.metadata["redactions"] = counts
                for kind, count in counts.items():
                    if count:
                        self.stat_update(f"redacted/{kind}", value=count)
            yield doc
