"""Classifying chat API answers: errcode != 0 fails; retryable versus permanent."""

from __future__ import annotations

import pytest

from stackgen.relay import dingtalk, feishu, wecom_app, wecom_robot
from stackgen.relay.delivery import DeliveryError, check_answer, post_json, rebase_url, safe_url
from tests.fakes.chat_apis import FakeWeComRobot


@pytest.mark.parametrize(
    ("answer", "codes", "retryable"),
    [
        ({"errcode": 310000, "errmsg": "sign not match"}, dingtalk.RETRYABLE_CODES, False),
        ({"errcode": 310000, "errmsg": "keywords not in content"}, dingtalk.RETRYABLE_CODES, False),
        ({"errcode": 300001, "errmsg": "token is not exist"}, dingtalk.RETRYABLE_CODES, False),
        ({"errcode": 130101, "errmsg": "send too fast"}, dingtalk.RETRYABLE_CODES, True),
        ({"errcode": 93000, "errmsg": "invalid webhook url"}, wecom_robot.RETRYABLE_CODES, False),
        ({"errcode": 45009, "errmsg": "api freq out of limit"}, wecom_robot.RETRYABLE_CODES, True),
        ({"errcode": -1, "errmsg": "system busy"}, wecom_app.RETRYABLE_CODES, True),
        (
            {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"},
            wecom_robot.RETRYABLE_CODES,
            False,
        ),
    ],
)
def test_api_error_codes(answer: dict, codes: frozenset, retryable: bool) -> None:
    with pytest.raises(DeliveryError) as caught:
        check_answer(answer, "API", codes)
    assert caught.value.retryable is retryable
    assert caught.value.code == answer["errcode"]
    assert answer["errmsg"] in caught.value.message  # the API's own words reach the log


def test_feishu_codes_use_code_and_msg() -> None:
    with pytest.raises(DeliveryError, match="19021: sign match fail") as caught:
        check_answer(
            {"code": 19021, "msg": "sign match fail"},
            "Feishu",
            feishu.RETRYABLE_CODES,
            code_key="code",
            message_key="msg",
        )
    assert not caught.value.retryable
    check_answer({"code": 0, "msg": "success"}, "Feishu", feishu.RETRYABLE_CODES, code_key="code")


def test_zero_errcode_passes() -> None:
    check_answer({"errcode": 0, "errmsg": "ok"}, "API", frozenset())
    check_answer({}, "API", frozenset())


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (502, True), (429, True), (400, False), (404, False)]
)
def test_http_status_classification(status: int, retryable: bool) -> None:
    fake = FakeWeComRobot("k").start()
    try:
        fake.fail_next(1, status)
        with pytest.raises(DeliveryError) as caught:
            post_json(f"{fake.url()}/cgi-bin/webhook/send?key=k", {"msgtype": "text"})
        assert caught.value.retryable is retryable
        assert f"HTTP {status}" in caught.value.message
        assert "key=k" not in caught.value.message  # query strings hold keys
    finally:
        fake.stop()


def test_connection_refused_is_retryable() -> None:
    fake = FakeWeComRobot("k").start()
    url = fake.url()
    fake.stop()
    with pytest.raises(DeliveryError) as caught:
        post_json(f"{url}/x", {}, timeout=2)
    assert caught.value.retryable


def test_safe_url_and_rebase() -> None:
    assert safe_url("https://h/robot/send?access_token=SECRET") == "https://h/robot/send"
    assert safe_url("https://h/hook/TOKEN", redact="TOKEN") == "https://h/hook/***"
    assert (
        rebase_url("https://oapi.dingtalk.com/robot/send?access_token=x", "http://127.0.0.1:8000")
        == "http://127.0.0.1:8000/robot/send?access_token=x"
    )
    assert rebase_url("https://a/b", None) == "https://a/b"
