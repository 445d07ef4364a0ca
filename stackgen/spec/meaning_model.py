"""Checks that need the built model: what runs and how it is reached (render/topology), which a spec's
data alone does not say. They run only on a spec with no error so far, on the model validate builds
once (and hands to render), so a check here never rebuilds it or guesses from raw data."""

from __future__ import annotations

from collections.abc import Iterator

from stackgen.model import Stack
from stackgen.spec.load import LoadedSpec
from stackgen.spec.problems import Problem


def model_problems(spec: LoadedSpec, stack: Stack) -> Iterator[Problem]:
    """Every check of the built model, in order."""
    yield from _user_certificate_names(spec, stack)


def reached_names(stack: Stack) -> list[str]:
    """The names stackgen's clients reach the password-protected services at: their compose service
    names (and localhost, where the relay's healthcheck verifies it)."""
    from stackgen.render.topology import services
    from stackgen.roles import facts

    running = [service for service in services(stack) if facts(service.role).asks_password]
    relay = any(service.role == "relay" for service in running)
    return [service.name for service in running] + (["localhost"] if relay else [])


def _user_certificate_names(spec: LoadedSpec, stack: Stack) -> Iterator[Problem]:
    """The user's own web certificate must name every service the stack reaches over TLS."""
    if not stack.web.tls or stack.web.cert_file is None:
        return
    from stackgen import pki

    written = spec.data["web"]["tls"]["cert_file"]
    unnamed = sorted(set(reached_names(stack)) - pki.names_in(stack.read(stack.web.cert_file)))
    if unnamed:
        yield spec.problem(
            ("web", "tls", "cert_file"),
            f"{written} does not name {', '.join(unnamed)}: the stack's own clients (scrapes, "
            "Alertmanager, Grafana, apply's reloads, the relay's healthcheck) verify each service by "
            "the name they reach it at",
            "add them to the certificate's subject alternative names, or tls: {} for the stack CA's "
            "certificates (web.tls.names adds the names other machines use)",
        )
