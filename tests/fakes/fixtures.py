"""pytest fixtures: one started fake per chat API, stopped after the test.

Import them in a conftest (`from tests.fakes.fixtures import *`). Override `fake_host` with
"0.0.0.0" where containers must reach the fakes through the docker bridge gateway.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.chat_apis import FakeDingTalk, FakeFeishu, FakeWeComApp, FakeWeComRobot

DINGTALK_TOKEN = "fake-dingtalk-token"
DINGTALK_SECRET = "SECfake0123456789abcdef"
WECOM_ROBOT_KEY = "fake-wecom-key-0000"
WECOM_CORP_ID = "wwfakecorp"
WECOM_SECRET = "fake-wecom-app-secret"
FEISHU_TOKEN = "fake-feishu-hook"
FEISHU_SECRET = "fake-feishu-secret"

__all__ = ["dingtalk_fake", "fake_host", "feishu_fake", "wecom_app_fake", "wecom_robot_fake"]


@pytest.fixture
def fake_host() -> str:
    """Where the fakes listen."""
    return "127.0.0.1"


@pytest.fixture
def dingtalk_fake(fake_host: str) -> Iterator[FakeDingTalk]:
    fake = FakeDingTalk(DINGTALK_TOKEN, DINGTALK_SECRET, host=fake_host).start()
    yield fake
    fake.stop()


@pytest.fixture
def wecom_robot_fake(fake_host: str) -> Iterator[FakeWeComRobot]:
    fake = FakeWeComRobot(WECOM_ROBOT_KEY, host=fake_host).start()
    yield fake
    fake.stop()


@pytest.fixture
def wecom_app_fake(fake_host: str) -> Iterator[FakeWeComApp]:
    fake = FakeWeComApp(WECOM_CORP_ID, WECOM_SECRET, host=fake_host).start()
    yield fake
    fake.stop()


@pytest.fixture
def feishu_fake(fake_host: str) -> Iterator[FakeFeishu]:
    fake = FakeFeishu(FEISHU_TOKEN, FEISHU_SECRET, host=fake_host).start()
    yield fake
    fake.stop()


def write_secret(directory: Path, name: str, value: str) -> str:
    """A 0600 secret file under directory/secrets, as render writes them; returns its path."""
    path = directory / "secrets" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
    return str(path)
