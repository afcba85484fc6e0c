"""Identifier keys (ID number, phone, bank card, device, IP...): one canonical text per value,
and the masked form shown in responses and logs.

A list entry and an application match when their *canonical* texts are equal, so both sides
go through :func:`normalise`: full-width characters become ASCII (``１３８`` is ``138``), spaces
and separators go, an ID number's ``x`` becomes ``X``, a mobile number loses its ``+86`` /
``0086`` / ``86`` country code, a device id is lower-case and an IP address takes its
standard form (``2001:DB8::0001`` is ``2001:db8::1``). Key types this module does not know
(``email``, ``user_id``...) are only stripped of surrounding spaces, except ``email``, which
is lower-case.

:func:`mask` is the only way a key leaves the fraud nodes: ``110***********1234``,
``138****5678``, ``6222*********1234``. It never shows more than the first three or four
and the last four characters, and hides everything of a value too short to mask safely.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable

ID_NUMBER = "id_number"
PHONE = "phone"
BANK_CARD = "bank_card"
DEVICE = "device"
IP = "ip"
EMAIL = "email"

# A dotted quad in standard form: octets 0-255 without leading zeros.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
# Separators people type inside numbers ("138 1234 5678", "6222-0212-...").
_SEPARATORS = str.maketrans("", "", " \t\r\n-\u00a0\u3000")


def _ascii(value: str) -> str:
    # NFKC folds full-width digits and letters (common from Chinese input methods) to ASCII;
    # it costs little on text that is already ASCII.
    return value if value.isascii() else unicodedata.normalize("NFKC", value)


def normalise_id_number(value: str) -> str:
    """An ID number without spaces, its check character ``X`` upper-case."""
    return _ascii(value).translate(_SEPARATORS).upper()


def normalise_phone(value: str) -> str:
    """A phone number as digits, without the +86 / 0086 / 86 country code of a mainland
    mobile (an 11-digit number starting with 1)."""
    text = _ascii(value).translate(_SEPARATORS)
    if text.startswith("+"):
        if not text.startswith("+86"):
            return text  # another country's number keeps its "+" (+1 415... is not 1415...)
        text = text[1:]
    if text.startswith("0086") and len(text) == 15:
        return text[4:]
    if text.startswith("86") and len(text) == 13 and text[2] == "1":
        return text[2:]
    return text


def normalise_bank_card(value: str) -> str:
    """A card number as its digits, without spaces or dashes."""
    return _ascii(value).translate(_SEPARATORS)


def normalise_device(value: str) -> str:
    """A device id without surrounding spaces, lower-case (Android ids and IDFAs are hex,
    and SDKs disagree about the case)."""
    return _ascii(value).strip().lower()


def normalise_ip(value: str) -> str:
    """An IP address in its standard text (IPv6 compressed, lower-case); text that is not an
    address is kept stripped, so that it can still match itself."""
    text = _ascii(value).strip()
    if _IPV4.fullmatch(text):
        return text  # already standard; ipaddress would cost ten times the lookup
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return text


def normalise_email(value: str) -> str:
    """An e-mail address stripped and lower-case."""
    return _ascii(value).strip().lower()


def normalise_other(value: str) -> str:
    """Any other key: stripped of surrounding spaces, otherwise as given."""
    return _ascii(value).strip()


NORMALISERS: dict[str, Callable[[str], str]] = {
    ID_NUMBER: normalise_id_number,
    PHONE: normalise_phone,
    BANK_CARD: normalise_bank_card,
    DEVICE: normalise_device,
    IP: normalise_ip,
    EMAIL: normalise_email,
}


def normaliser(key_type: str) -> Callable[[str], str]:
    """The normalising function of a key type (:func:`normalise_other` for unknown ones)."""
    return NORMALISERS.get(key_type, normalise_other)


def normalise(key_type: str, value: str) -> str:
    """The canonical text of ``value`` as a key of ``key_type``."""
    return normaliser(key_type)(value)


def mask(key_type: str, value: str) -> str:
    """``value`` (canonical text) with its middle hidden, for responses and logs.

    ID numbers keep their first 3 and last 4 characters (``110***********1234``), phones
    their first 3 and last 4 (``138****5678``), cards their first and last 4, IPv4
    addresses their first two octets (``116.25.*.*``), e-mail addresses the first character
    of the mailbox (``z***@example.com``); other keys the first and last 4 characters when
    at least 12 long, the first and last 2 when at least 8, and nothing otherwise.
    """
    if key_type == IP and value.count(".") == 3:
        first, second, _, _ = value.split(".")
        return f"{first}.{second}.*.*"
    if key_type == EMAIL and "@" in value:
        mailbox, _, domain = value.rpartition("@")
        return f"{mailbox[:1]}***@{domain}"
    head = 3 if key_type in (ID_NUMBER, PHONE) else 4
    if len(value) >= max(head + 4 + 4, 11):
        return value[:head] + "*" * (len(value) - head - 4) + value[-4:]
    if len(value) >= 8:
        return value[:2] + "*" * (len(value) - 4) + value[-2:]
    return "*" * len(value)


__all__ = ["BANK_CARD", "DEVICE", "EMAIL", "ID_NUMBER", "IP", "NORMALISERS", "PHONE", "mask",
           "normalise", "normaliser"]
