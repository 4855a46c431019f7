"""A tiny OpenID Connect provider for tests, served on 127.0.0.1 (no outside service).

It publishes a discovery document and a JWKS, answers the authorization endpoint with a
redirect that carries a code (no login form: the test decides who signs in through
:attr:`TestProvider.claims`), and its token endpoint returns an ID token signed in the test
with an RS256 key generated here. Knobs make it misbehave: :attr:`tweak` overrides claims of
the next tokens, :attr:`sign_with` signs them with another key, :meth:`rotate` replaces the
published key.

>>> with TestProvider().serve() as idp:  # doctest: +SKIP
...     config = idp.config(role_map=(("hotline-reviewer", "reviewer"),))
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Header, Query
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from verisight.web.oidc import OidcConfig
from verisight.web.server import background

CLIENT_ID = "verisight-tests"
CLIENT_SECRET = "a-client-secret-for-tests"


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class Grant:
    redirect_uri: str
    nonce: str
    challenge: str
    claims: dict[str, Any]


@dataclass
class TestProvider:
    __test__ = False  # not a test class for pytest

    #: Who signs in next (the provider adds iss, aud, exp, iat and nonce).
    claims: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "subject-1",
            "preferred_username": "ada",
            "roles": ["hotline-reviewer"],
        }
    )
    #: Claims that override what the provider would put in the next tokens.
    tweak: dict[str, Any] = field(default_factory=dict)
    #: Sign with this key (and its kid) instead of the published one.
    sign_with: RSAKey | OctKey | None = None
    key: RSAKey = field(default_factory=lambda: new_key("key-1"))
    url: str = ""
    jwks_fetches: int = 0
    token_requests: int = 0
    grants: dict[str, Grant] = field(default_factory=dict)

    def rotate(self) -> None:
        """Publish a new key (a new kid) instead of the old one; sign with it from now on."""
        self.key = new_key(f"key-{secrets.token_hex(4)}")

    def config(self, **kw: Any) -> OidcConfig:
        base: dict[str, Any] = {
            "issuer": self.url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "role_map": (("hotline-analyst", "analyst"), ("hotline-reviewer", "reviewer")),
            "label": "Test IdP",
            "allow_http_localhost": True,
        }
        return OidcConfig(**(base | kw))

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "aud": CLIENT_ID, "iat": now, "exp": now + 300}
        claims |= {"nonce": grant.nonce} | grant.claims | self.tweak
        key = self.sign_with or self.key
        header = {"alg": "HS256" if isinstance(key, OctKey) else "RS256", "kid": key.kid}
        return jwt.encode(header, claims, key)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict[str, Any]:
            return {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            self.jwks_fetches += 1
            return {"keys": [self.key.as_dict(private=False)]}

        @app.get("/authorize")
        def authorize(
            response_type: str,
            client_id: str,
            redirect_uri: str,
            state: str,
            nonce: str,
            code_challenge: str,
            code_challenge_method: Annotated[str, Query()],
        ) -> RedirectResponse:
            assert response_type == "code" and client_id == CLIENT_ID
            assert code_challenge_method == "S256"
            code = secrets.token_urlsafe(16)
            self.grants[code] = Grant(redirect_uri, nonce, code_challenge, dict(self.claims))
            query = urlencode({"code": code, "state": state})
            return RedirectResponse(f"{redirect_uri}?{query}", status_code=303)

        @app.post("/token")
        def token(
            grant_type: Annotated[str, Form()],
            code: Annotated[str, Form()],
            redirect_uri: Annotated[str, Form()],
            code_verifier: Annotated[str, Form()],
            authorization: Annotated[str, Header()] = "",
        ) -> JSONResponse:
            self.token_requests += 1
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if authorization != expected:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            grant = self.grants.pop(code, None)
            digest = hashlib.sha256(code_verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if (
                grant_type != "authorization_code"
                or grant is None
                or grant.redirect_uri != redirect_uri
                or grant.challenge != challenge
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            return JSONResponse(
                {"access_token": "unused", "token_type": "Bearer", "id_token": self.id_token(grant)}
            )

        return app

    @contextmanager
    def serve(self) -> Iterator[TestProvider]:
        with background(self.app()) as url:
            self.url = url
            yield self
