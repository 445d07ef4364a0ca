"""Signatures against known-answer vectors (computed independently with `openssl dgst -hmac`)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from stackgen.relay import dingtalk, feishu


def test_dingtalk_sign_matches_openssl_vector() -> None:
    # printf '1577262236757\nSEC1234567890abcdef' \
    #   | openssl dgst -sha256 -hmac SEC1234567890abcdef -binary | base64
    assert (
        dingtalk.sign("SEC1234567890abcdef", 1577262236757) == "f7qQ1A8KagEZ45y1gasTtKsEq5ERTeDXP9T+WkIqzDk="
    )


def test_dingtalk_sign_with_non_ascii_secret() -> None:
    assert dingtalk.sign("加签密钥", 1700000000000) == "0jnkKPfQHHnsa58uZgXPnaW4q9N0D5njjHzHFeL+1Pc="


def test_dingtalk_signed_url_url_encodes_the_signature() -> None:
    url = dingtalk.signed_url(
        "https://oapi.dingtalk.com/robot/send?access_token=abc", "SEC1234567890abcdef", 1577262236757
    )
    assert "sign=f7qQ1A8KagEZ45y1gasTtKsEq5ERTeDXP9T%2BWkIqzDk%3D" in url
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "access_token": ["abc"],
        "timestamp": ["1577262236757"],
        "sign": ["f7qQ1A8KagEZ45y1gasTtKsEq5ERTeDXP9T+WkIqzDk="],
    }


def test_feishu_sign_uses_the_string_as_key_over_an_empty_message() -> None:
    # KEY=$(printf '1599360473\nfeishu-secret-xyz' | xxd -p); printf '' | openssl dgst -sha256 -mac HMAC \
    #   -macopt hexkey:$KEY -binary | base64
    assert feishu.sign("feishu-secret-xyz", 1599360473) == "o6ELqJkOddi9bwpKiwZnnxz3bwBKqGl7u0aFJjhVVYY="
