"""Choosing the stored credential to use for a broker."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from hop.errors import CredentialError, NoCredentialsError

from ._credential import Auth, host_only, label
from ._store import NO_CREDENTIALS_MESSAGE

__all__ = ["AmbiguousCredentialError", "NoMatchingCredentialError", "select_matching_auth"]

logger = logging.getLogger("hop.auth")


class AmbiguousCredentialError(CredentialError, RuntimeError):
    """Several stored credentials fit a URL and none can be chosen.

    A ``RuntimeError`` too, as what hop-client 0.13 raised there.
    """


class NoMatchingCredentialError(CredentialError, RuntimeError):
    """Credentials are stored, but none fits the URL (a ``RuntimeError`` too, as in 0.13)."""


class _NothingToChooseFromError(NoCredentialsError, RuntimeError):
    """``select_matching_auth`` given no credential (0.13 raised a ``RuntimeError``)."""


def select_matching_auth(
    creds: Sequence[Auth], hostname: str | Sequence[str], username: str | None = None
) -> Auth:
    """Choose the credential to use for a broker.

    The rules: among the credentials of ``username`` (all of them when None), those whose
    hostname matches win; when none does, those with no hostname may serve any host. Exactly
    one must remain.

    ``hostname`` may be every host of a URL's bootstrap list: the brokers in one URL belong
    to one cluster, so a credential stored for any of them is for that cluster.

    Args:
        creds: the candidates, e.g. ``load_auth()``.
        hostname: the broker host (without port), or several hosts of one cluster.
        username: the user asked for (a URL's ``user@``), or None.

    Returns:
        The chosen credential.

    Raises:
        NoCredentialsError: (a ``RuntimeError`` here, as in 0.13) ``creds`` is empty.
        NoMatchingCredentialError: (a ``RuntimeError``) no credential fits; the message
            lists those considered.
        AmbiguousCredentialError: (a ``RuntimeError``) several fit; the message lists them
            and how to pick one with ``kafka://USERNAME@host/topic``.
    """
    hosts = [hostname] if isinstance(hostname, str) else list(hostname)
    wanted = {host_only(h) for h in hosts}
    shown_host = hosts[0] if len(hosts) == 1 else ",".join(hosts)
    if not creds:
        raise _NothingToChooseFromError(NO_CREDENTIALS_MESSAGE)
    pool = [c for c in creds if username is None or c.username == username]
    by_host = [c for c in pool if c.hostname and host_only(c.hostname) in wanted]
    hostless = [c for c in pool if not c.hostname]
    candidates = by_host or hostless
    for_whom = f"user {username!r} on {shown_host}" if username else shown_host
    if not candidates:
        considered = "; ".join(label(c) for c in creds)
        raise NoMatchingCredentialError(
            f"no stored credential fits {for_whom}; considered: {considered}. Add one with "
            "'hop auth add' (giving this hostname), or name a stored user in the URL"
        )
    if len(candidates) > 1:
        considered = "; ".join(label(c) for c in candidates)
        if username is None:
            advice = f"choose one by writing its username in the URL: kafka://<username>@{shown_host}/topic"
        else:
            advice = "remove the duplicate with 'hop auth remove'"
        raise AmbiguousCredentialError(
            f"several stored credentials fit {for_whom} and hop cannot choose: {considered}; "
            f"{advice}"
        )
    chosen = candidates[0]
    logger.info("using credential %s for %s", label(chosen), shown_host)
    return chosen
