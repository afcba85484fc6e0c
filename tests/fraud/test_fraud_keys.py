"""Key normalisation (what matches what) and masking (what may be shown)."""

from __future__ import annotations

import pytest

from fengkong.fraud.keys import mask, normalise


@pytest.mark.parametrize(("key_type", "written", "canonical"), [
    ("id_number", " 11010519491231002x ", "11010519491231002X"),
    ("id_number", "110105 19491231 002X", "11010519491231002X"),
    ("id_number", "１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),  # full-width
    ("phone", "+86 138 1234 5678", "13812345678"),
    ("phone", "8613812345678", "13812345678"),
    ("phone", "0086-138-1234-5678", "13812345678"),
    ("phone", "138-1234-5678", "13812345678"),
    ("phone", "+8602112345678", "8602112345678"),  # a landline keeps its digits
    ("phone", "+1 415 555 0100", "+14155550100"),  # not a mainland number
    ("bank_card", "6222 0212 3456 7890 128", "6222021234567890128"),
    ("device", " 01DC5328624FF4DE ", "01dc5328624ff4de"),
    ("ip", " 116.25.40.7 ", "116.25.40.7"),
    ("ip", "2001:DB8:0:0::0001", "2001:db8::1"),
    ("ip", "not-an-ip", "not-an-ip"),
    ("email", " Zhang.Wei@Example.COM", "zhang.wei@example.com"),
    ("user_id", " U-00017 ", "U-00017"),
])
def test_normalise(key_type: str, written: str, canonical: str) -> None:
    assert normalise(key_type, written) == canonical


@pytest.mark.parametrize(("key_type", "value", "masked"), [
    ("id_number", "110105194912310021", "110***********0021"),
    ("id_number", "110105491231002", "110********1002"),  # legacy 15 digits
    ("phone", "13812345678", "138****5678"),
    ("bank_card", "6222021234567890128", "6222***********0128"),
    ("device", "01dc5328624ff4de", "01dc********f4de"),
    ("ip", "116.25.40.7", "116.25.*.*"),
    ("email", "zhang.wei@example.com", "z***@example.com"),
    ("user_id", "U-000171", "U-****71"),
    ("user_id", "U-0017", "******"),
])
def test_mask(key_type: str, value: str, masked: str) -> None:
    assert mask(key_type, value) == masked


@pytest.mark.parametrize("key_type", ["id_number", "phone", "bank_card", "device", "ip",
                                      "email", "other"])
@pytest.mark.parametrize("length", range(1, 25))
def test_a_mask_hides_at_least_the_middle(key_type: str, length: int) -> None:
    value = "".join(str(position % 10) for position in range(1, length + 1))
    masked = mask(key_type, value)
    assert masked != value
    assert len(masked) == len(value)
    hidden = masked.count("*")
    assert len(value) - hidden <= 8  # never more than 8 characters shown
    assert hidden >= min(len(value), 4)  # and at least 4 hidden (all of a short value)
