"""Single sign-on with OpenID Connect, beside local passwords (``verisight serve --oidc-…``).

The flow is the authorization code flow with PKCE (S256), built with Authlib's helpers and
checked with joserfc (Authlib's JOSE library):

1. ``GET /login/oidc`` starts a flow: a random ``state``, ``nonce`` and PKCE verifier are kept
   on the server (single use, ten minutes); the browser gets ``state`` in a cookie bound to
   ``/login/oidc`` and is sent to the provider's authorization endpoint.
2. ``GET /login/oidc/callback`` needs the cookie's ``state`` to equal the returned one (else
   nothing else happens: a forged callback is neither exchanged nor audited), swaps the code
   for tokens at the token endpoint (client secret, PKCE verifier) and verifies the ID token:
   its signature against the provider's JWKS (asymmetric algorithms only; an unknown ``kid``
   refetches the JWKS once, so key rotation needs no restart), ``iss``, ``aud`` (and ``azp``
   when there are several audiences), ``exp``, ``iat`` (not in the future, not stale),
   ``nonce``.
3. :class:`verisight.assessment.sso.SingleSignOn` then finds or provisions the user linked to
   (issuer, subject), maps the role from the claim, refuses unmapped roles and disabled users,
   and opens a session exactly like a password login's (same cookie, CSRF token, revocation).

The callback answers with a page that moves on by ``<meta http-equiv=refresh>``: the
provider's redirect is a cross-site navigation, and the session cookie (``SameSite=Strict``)
is only sent on the next, same-site one.

Provider URLs must be ``https``; ``--oidc-allow-http-localhost`` lets a provider on the
loopback address speak ``http`` (tests, a local trial).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from html import escape
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol, KeySet

from verisight.assessment import Identity, SsoRefused
from verisight.assessment.roles import Role
from verisight.errors import UsageError
from verisight.web.auth import home_for, login_page, secure_cookies, set_session_cookie
from verisight.web.deps import Service

FLOW_COOKIE = "verisight_oidc"
#: Signature algorithms accepted for ID tokens: asymmetric only (no ``none``, no HMAC).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})

router = APIRouter()


class OidcError(Exception):
    """The provider, or its answer, failed a check; the message is the audited reason."""


def check_url(url: str, allow_http_localhost: bool) -> None:
    """``https``, or ``http`` on the loopback address when allowed; raises UsageError."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and allow_http_localhost and parts.hostname in LOOPBACK:
        return
    hint = " (http only on 127.0.0.1 with --oidc-allow-http-localhost)"
    raise UsageError(f"identity provider URLs must be https: {url!r}{hint}")


def parse_role_map(items: list[str]) -> tuple[tuple[str, str], ...]:
    """``claimvalue=role`` pairs, in the order given (the first match wins)."""
    pairs = []
    roles = {r.value for r in Role}
    for item in items:
        value, eq, role = item.rpartition("=")
        if not eq or not value or role not in roles:
            raise UsageError(
                f"--oidc-role-map takes CLAIMVALUE=ROLE with a role among "
                f"{', '.join(sorted(roles))}: {item!r}"
            )
        pairs.append((value, role))
    return tuple(pairs)


@dataclass(frozen=True)
class OidcConfig:
    """An OpenID Connect provider and how its claims become Verisight users."""

    issuer: str
    client_id: str
    client_secret: str | None = None
    #: The ID-token claim holding the user's roles or groups (a dotted path for nested ones,
    #: e.g. ``realm_access.roles``); a string or a list of strings.
    role_claim: str = "roles"
    #: (claim value, Verisight role) pairs; the first that matches wins.
    role_map: tuple[tuple[str, str], ...] = ()
    #: Shown on the login page as "Sign in with …" (the issuer's host by default).
    label: str = ""
    allow_http_localhost: bool = False
    scope: str = "openid profile email"
    #: Clock skew allowed on ``exp`` and ``iat``, and how old an ID token may be, in seconds.
    leeway: int = 60
    max_age: int = 600

    def __post_init__(self) -> None:
        check_url(self.issuer, self.allow_http_localhost)
        if not self.client_id:
            raise UsageError("--oidc-client-id is needed with --oidc-issuer")
        if not self.role_map:
            raise UsageError("--oidc-role-map is needed with --oidc-issuer (who gets which role)")

    @property
    def name(self) -> str:
        return self.label or urlsplit(self.issuer).hostname or self.issuer


def role_for(claims: dict[str, Any], config: OidcConfig) -> str | None:
    """The Verisight role the claim maps to, or None."""
    value: Any = claims
    for part in config.role_claim.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    values = {value} if isinstance(value, str) else set(value) if isinstance(value, list) else set()
    return next((role for v, role in config.role_map if v in values), None)


def name_hint(claims: dict[str, Any]) -> str:
    for key in ("preferred_username", "name", "email"):
        if isinstance(claims.get(key), str) and claims[key].strip():
            return str(claims[key])
    return ""


class Provider:
    """The provider's discovery document and JWKS (cached), its token endpoint, and the ID
    token check."""

    def __init__(self, config: OidcConfig, http: httpx.Client | None = None) -> None:
        self.config = config
        self.http = http or httpx.Client(timeout=10.0, follow_redirects=False)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def _get_json(self, url: str) -> dict[str, Any]:
        check_url(url, self.config.allow_http_localhost)
        try:
            r = self.http.get(url, headers={"accept": "application/json"})
            r.raise_for_status()
            data = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"cannot read {url}: {exc.__class__.__name__}") from exc
        if not isinstance(data, dict):
            raise OidcError(f"{url} is not a JSON object")
        return data

    def metadata(self) -> dict[str, Any]:
        """The discovery document (fetched once; its issuer must be the configured one)."""
        with self._lock:
            if self._metadata is None:
                url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
                meta = self._get_json(url)
                if meta.get("issuer") != self.config.issuer:
                    raise OidcError(f"the discovery document names issuer {meta.get('issuer')!r}")
                for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(meta.get(key), str):
                        raise OidcError(f"the discovery document has no {key}")
                    try:
                        check_url(meta[key], self.config.allow_http_localhost)
                    except UsageError as exc:
                        raise OidcError(str(exc)) from exc
                self._metadata = meta
            return self._metadata

    def _key_set(self, kid: str | None) -> KeySet:
        """The JWKS, refetched once when it lacks ``kid`` (the provider rotated its keys)."""
        with self._lock:
            keys = self._keys
        if keys is None or (kid is not None and not any(k.kid == kid for k in keys.keys)):
            data = self._get_json(self.metadata()["jwks_uri"])
            try:
                keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise OidcError("the provider's JWKS is not a valid key set") from exc
            with self._lock:
                self._keys = keys
        if kid is not None and not any(k.kid == kid for k in keys.keys):
            raise OidcError("the ID token is signed with a key the provider does not publish")
        return keys

    def authorization_url(self, redirect_uri: str, flow: Flow) -> str:
        return str(add_params_to_uri(self.metadata()["authorization_endpoint"], [
            ("response_type", "code"), ("client_id", self.config.client_id),
            ("redirect_uri", redirect_uri), ("scope", self.config.scope),
            ("state", flow.state), ("nonce", flow.nonce),
            ("code_challenge", create_s256_code_challenge(flow.verifier)),
            ("code_challenge_method", "S256"),
        ]))  # fmt: skip

    def exchange(self, code: str, redirect_uri: str, verifier: str) -> str:
        """The ID token for an authorization code."""
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect_uri, "code_verifier": verifier}  # fmt: skip
        extra: dict[str, Any] = {}
        if self.config.client_secret is None:  # a public client: PKCE alone
            form["client_id"] = self.config.client_id
        else:  # client_secret_basic, form-encoded as RFC 6749 §2.3.1 says
            extra["auth"] = httpx.BasicAuth(
                quote(self.config.client_id, safe=""), quote(self.config.client_secret, safe="")
            )
        try:
            r = self.http.post(self.metadata()["token_endpoint"], data=form, **extra)
            body = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"the token request failed: {exc.__class__.__name__}") from exc
        if r.status_code != 200 or not isinstance(body, dict):
            what = body.get("error") if isinstance(body, dict) else None
            raise OidcError(f"the token endpoint answered {r.status_code} {str(what)[:64]}")
        token = body.get("id_token")
        if not isinstance(token, str):
            raise OidcError("the token endpoint returned no ID token")
        return token

    def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims, once its signature and claims check out."""

        def key(guest: GuestProtocol) -> KeySet:
            kid = guest.headers().get("kid")
            return self._key_set(kid if isinstance(kid, str) else None)

        c = self.config
        try:
            token = jwt.decode(id_token, key, algorithms=list(ALGORITHMS))
            now = int(time.time())
            jwt.JWTClaimsRegistry(
                now=now, leeway=c.leeway,
                iss={"essential": True, "value": c.issuer},
                aud={"essential": True, "value": c.client_id},
                sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(token.claims)  # fmt: skip
        except JoseError as exc:
            raise OidcError(f"ID token rejected: {exc.error} {exc.description or ''}") from exc
        claims = dict(token.claims)
        iat = claims["iat"]
        fresh = isinstance(iat, int | float) and not isinstance(iat, bool)
        if not fresh or iat > now + c.leeway or iat < now - c.max_age - c.leeway:
            raise OidcError("ID token rejected: issued in the future or too long ago")
        aud = claims["aud"]
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != c.client_id:
            raise OidcError("ID token rejected: several audiences and azp is not this client")
        if not claims["sub"]:
            raise OidcError("ID token rejected: empty subject")
        return claims


@dataclass(frozen=True)
class Flow:
    state: str
    nonce: str
    verifier: str
    started: float = field(default_factory=time.monotonic)


class Flows:
    """Sign-ins under way, by state: single use, ten minutes, a bounded number."""

    TTL = 600.0
    MAX = 10_000

    def __init__(self) -> None:
        self._flows: dict[str, Flow] = {}
        self._lock = threading.Lock()

    def start(self) -> Flow:
        flow = Flow(generate_token(32), generate_token(32), generate_token(64))
        with self._lock:
            now = time.monotonic()
            if len(self._flows) >= self.MAX:
                self._flows = {s: f for s, f in self._flows.items() if now - f.started < self.TTL}
                while len(self._flows) >= self.MAX:  # still full: the oldest go
                    del self._flows[next(iter(self._flows))]
            self._flows[flow.state] = flow
        return flow

    def finish(self, state: str) -> Flow | None:
        with self._lock:
            flow = self._flows.pop(state, None)
        if flow is None or time.monotonic() - flow.started > self.TTL:
            return None
        return flow


@dataclass
class SingleSignOnClient:
    """What ``create_app`` keeps on ``app.state.oidc``."""

    config: OidcConfig
    provider: Provider
    flows: Flows

    @classmethod
    def of(cls, config: OidcConfig, http: httpx.Client | None = None) -> SingleSignOnClient:
        return cls(config, Provider(config, http), Flows())


def _client(request: Request) -> SingleSignOnClient:
    sso: SingleSignOnClient | None = request.app.state.oidc
    if sso is None:
        raise HTTPException(404, "single sign-on is not configured")
    return sso


def _redirect_uri(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


def _refused(request: Request, message: str, status: int) -> Response:
    response = login_page(request, message, status)
    response.delete_cookie(FLOW_COOKIE, path="/login/oidc")
    return response


@router.get("/login/oidc")
def start(request: Request) -> Response:
    sso = _client(request)
    flow = sso.flows.start()
    try:
        url = sso.provider.authorization_url(_redirect_uri(request), flow)
    except OidcError:
        return _refused(request, "The identity provider cannot be reached: try again later.", 502)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE, flow.state, max_age=int(Flows.TTL), httponly=True, samesite="lax",
        secure=secure_cookies(request), path="/login/oidc",
    )  # fmt: skip
    return response


@router.get("/login/oidc/callback", name="oidc_callback")
def callback(
    request: Request,
    service: Service,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=4096)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    sso = _client(request)
    cookie = request.cookies.get(FLOW_COOKIE, "")
    same = bool(cookie) and secrets.compare_digest(cookie.encode(), state.encode())
    flow = sso.flows.finish(state) if same else None
    if flow is None:  # not this browser's sign-in, or too old: nothing was exchanged
        return _refused(request, "The sign-in expired or did not start here: try again.", 400)
    address = request.client.host if request.client else "unknown"
    issuer = sso.config.issuer
    try:
        if error or not code:
            raise OidcError(f"the provider answered {error[:64] or 'without a code'}")
        claims = sso.provider.verify(
            sso.provider.exchange(code, _redirect_uri(request), flow.verifier), flow.nonce
        )
    except OidcError as exc:
        service.sso.failed(issuer, str(exc), address)
        return _refused(request, "Sign-in failed: the identity provider's answer was refused.", 403)
    who = Identity(issuer, str(claims["sub"]), name_hint(claims), role_for(claims, sso.config))
    try:
        result = service.sso.login(who, address)
    except SsoRefused as exc:
        return _refused(request, f"Sign-in refused: {exc}.", 403)
    home = home_for(result.user.role)
    response = HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={escape(home)}">'
        '<link rel="stylesheet" href="/static/verisight.css"><title>Signed in</title></head>'
        f"<body><main><p>Signed in as {escape(result.user.name)}. "
        f'<a href="{escape(home)}">Continue</a></p></main></body></html>'
    )
    set_session_cookie(request, response, result.token)
    response.delete_cookie(FLOW_COOKIE, path="/login/oidc")
    return response
