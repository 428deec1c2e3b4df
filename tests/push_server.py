"""A real HTTP server in the test process standing in for a push vendor: hypercorn on
127.0.0.1 and a free port, speaking HTTP/1.1 and, on the same cleartext port, HTTP/2 with
prior knowledge (h2c), which is how the APNs tests speak HTTP/2 without TLS.

    async with local_server(lambda request: (200, {}, b"{}"), http2=True) as server:
        ... aim the adapter at server.url ...
        assert server.requests[0].http_version == "2"

The first argument is either a responder (`Request -> (status, headers, body)`, sync or
async; `server.responder` can be swapped mid-test) or a whole ASGI app; either way every
request is recorded in `server.requests`, in arrival order, before it is answered.
`tls=TlsFiles(...)` serves HTTPS instead (ALPN h2 and http/1.1), optionally demanding a
client certificate.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import itertools
import json
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt
from cryptography.hazmat.primitives import serialization
from hypercorn.asyncio import serve
from hypercorn.config import Config

from services.embedded.launchers import free_port

Response = tuple[int, Mapping[str, str], bytes]
Responder = Callable[["Request"], Response | Awaitable[Response]]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    # Lower-case names; a header sent twice keeps its last value.
    headers: dict[str, str]
    body: bytes
    # "1.1" or "2", as hypercorn reports it in the ASGI scope.
    http_version: str

    def json(self) -> Any:
        return json.loads(self.body)


def json_response(status: int, doc: Any, headers: Mapping[str, str] | None = None) -> Response:
    return status, {"content-type": "application/json", **(headers or {})}, json.dumps(doc).encode()


@dataclass(frozen=True)
class TlsFiles:
    """Serve HTTPS (ALPN h2 and http/1.1); with `ca_certs`, the TLS handshake fails for a
    client that does not show a certificate signed by that CA (hypercorn does not pass the
    certificate on to the app, so the handshake is what a test checks)."""

    certfile: str
    keyfile: str
    ca_certs: str | None = None


@dataclass
class LocalServer:
    url: str
    responder: Responder
    requests: list[Request] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[Request]:
        """The first `count` requests, once they have arrived (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)
        return self.requests[:count]

    async def _record(self, request: Request) -> None:
        async with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()


def _is_asgi_app(app_or_handler: AsgiApp | Responder) -> bool:
    return len(inspect.signature(app_or_handler).parameters) == 3


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _recording_app(server: LocalServer, http2_only: bool, inner: AsgiApp | None) -> AsgiApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = await _read_body(receive)
        request = Request(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode(),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=body,
            http_version=scope["http_version"],
        )
        await server._record(request)
        response: Response
        if http2_only and request.http_version != "2":
            # What a real HTTP/2-only vendor does to an HTTP/1.1 client, roughly; the point is
            # that a test aimed at an HTTP/2 server cannot pass over HTTP/1.1 by accident.
            response = 505, {}, b"HTTP/2 required"
        elif inner is not None:
            replayed = False

            async def replay() -> dict[str, Any]:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await inner(scope, replay, send)
            return
        else:
            outcome = server.responder(request)
            response = await outcome if inspect.isawaitable(outcome) else outcome
        status, headers, payload = response
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return app


def _default_responder(_: Request) -> Response:
    return json_response(200, {})


@asynccontextmanager
async def local_server(
    app_or_handler: AsgiApp | Responder | None = None,
    *,
    http2: bool = False,
    tls: TlsFiles | None = None,
    port: int | None = None,
) -> AsyncIterator[LocalServer]:
    """Serve until the block ends. `http2=True` answers 505 to anything but HTTP/2. `port`: a
    port reserved earlier (a stack started before the server is aimed at it), else a free
    one."""
    inner: AsgiApp | None = None
    responder: Responder = _default_responder
    if app_or_handler is not None:
        if _is_asgi_app(app_or_handler):
            inner = app_or_handler  # type: ignore[assignment]
        else:
            responder = app_or_handler  # type: ignore[assignment]

    port = port or free_port()
    # Listening before hypercorn starts, so that a client never races the server's start-up:
    # its connection waits in the backlog.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)

    config = Config()
    config.bind = [f"fd://{listener.detach()}"]
    config.insecure_bind = []
    config.accesslog = None
    config.loglevel = "WARNING"
    config.graceful_timeout = 1.0
    if tls is not None:
        config.certfile = tls.certfile
        config.keyfile = tls.keyfile
        if tls.ca_certs is not None:
            config.ca_certs = tls.ca_certs
            config.verify_mode = ssl.CERT_REQUIRED
    scheme = "https" if tls is not None else "http"

    server = LocalServer(url=f"{scheme}://127.0.0.1:{port}", responder=responder)
    stopping = asyncio.Event()
    task = asyncio.create_task(
        serve(_recording_app(server, http2, inner), config, shutdown_trigger=stopping.wait)  # type: ignore[arg-type]
    )
    try:
        yield server
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=10)


# --- the stand-in for every vendor, for a whole stack -------------------------------------
#
# One responder answers all seven vendors, each under its own path prefix (vendor_endpoints),
# the way the vendor does: its auth endpoint, its send API, its JSON replies, and the answer
# it gives for a device token it no longer knows. What the vendor would check and is cheap to
# check here is checked: the APNs provider token (ES256, key id, team, age), the FCM and
# Huawei OAuth flows (the assertion or the client secret, then only the bearer issued, for
# the project or app it was issued for), Xiaomi's `key=` secret, OPPO's and vivo's signed
# auth requests and the auth tokens they give out, Meizu's signed form.
#
# Signatures and secrets can only be checked for an app whose credentials the stand-in was
# told (`vendor_stand_in.register`, as the vendor's console knows them); an app it was not
# told about is taken on trust, its auth checked for shape only, and its sends are recorded
# with `verified_app` empty.

# A token that starts with this is one the vendor no longer knows (unregistered, uninstalled).
UNKNOWN_TOKEN_PREFIX = "unknown-"

VENDORS = ("apns", "fcm", "huawei", "xiaomi", "oppo", "vivo", "meizu")

# What became of a send (Delivery.outcome).
ACCEPTED = "accepted"
TOKEN_INVALID = "token_invalid"
REFUSED = "refused"

# Google's OAuth 2.0 service-account flow.
GOOGLE_JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# Apple refuses a provider token older than an hour; Google an assertion living longer.
MAX_TOKEN_AGE_S = 3600
# vivo takes an auth timestamp within ten minutes of its clock (API doc 2.9.2, /message/auth).
VIVO_TIMESTAMP_SKEW_MS = 10 * 60 * 1000
# vivo's result-code table was not in the material searched: 10000 stands for its "auth
# failed", as services/push/vendors/vivo.py reads it.
VIVO_AUTH_FAILED = 10000


def vendor_endpoints(url: str) -> dict[str, str]:
    """Settings.push_endpoints aiming every vendor of a stack at one stand-in server, each under
    its own path prefix."""
    endpoints = {v: f"{url}/{v}" for v in VENDORS}
    endpoints["apns_sandbox"] = f"{url}/apns"
    endpoints["fcm_token"] = f"{url}/fcm/token"
    endpoints["huawei_token"] = f"{url}/huawei/token"
    return endpoints


def apns_token(request: Request) -> str:
    return unquote(request.path.rsplit("/", 1)[-1])


def _form(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}


def xiaomi_token(request: Request) -> str:
    """The regId of a Xiaomi send; "" for any other request (tests pick their own sends out of
    everything the session's stand-in was sent, all vendors')."""
    return _form(request).get("registration_id", "")


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Delivery:
    """A send the stand-in answered: to which device, what the phone would show, and what the
    request's authentication proved."""

    vendor: str
    token: str
    outcome: str  # ACCEPTED, TOKEN_INVALID, or REFUSED (its authentication)
    title: str
    body: str
    # The app the authentication was checked against registered credentials for (APNs
    # "<team id>:<key id>", the FCM service account, the Huawei/vivo/Meizu app id, the Xiaomi
    # package, the OPPO app key); "" when the app was not registered, or the send refused.
    verified_app: str
    # What the request authenticated with: the provider token, the bearer or auth token, the
    # Xiaomi Authorization header, the Meizu sign.
    credential: str
    request: Request


@dataclass(frozen=True)
class Grant:
    """An access token the stand-in gave out, and to whom."""

    vendor: str
    app: str
    verified: bool
    # What it may send for: the service account's FCM project, the Huawei/vivo app id, the
    # OPPO app key.
    scope: str


class _Refused(Exception):
    """The vendor's answer to a request it refuses."""

    def __init__(self, response: Response) -> None:
        super().__init__(response[0])
        self.response = response


def _jwt_claims(
    token: str, key: Any, algorithm: str, required: list[str], audience: str | None = None
) -> dict[str, Any]:
    """The claims of a JWT signed with `algorithm`, which has the `required` ones; its
    signature checked unless `key` is None. jwt.PyJWTError when it does not pass."""
    if jwt.get_unverified_header(token).get("alg") != algorithm:
        raise jwt.InvalidAlgorithmError(f"not {algorithm}")
    options: Any = {
        "verify_signature": key is not None,
        "verify_iat": True,
        "verify_exp": True,
        "verify_aud": audience is not None,
        "require": required,
    }
    return jwt.decode(
        token, key, algorithms=[algorithm], options=options, audience=audience, leeway=60
    )


def _public_key(private_key_pem: str) -> Any:
    return serialization.load_pem_private_key(private_key_pem.encode(), None).public_key()


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in "0123456789abcdef" for c in text)


class VendorStandIn:
    """Every vendor's API as one responder for `local_server`. `deliveries` records every send
    it answered, in arrival order; `grants` every access token it gave out."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.grants: dict[str, Grant] = {}
        self._apps: dict[str, dict[str, Mapping[str, Any]]] = {v: {} for v in VENDORS}
        self._counter = itertools.count(1)
        self._routes: dict[str, Callable[[Request, str], Response]] = {
            "apns": self._apns,
            "fcm": self._fcm,
            "huawei": self._huawei,
            "xiaomi": self._xiaomi,
            "oppo": self._oppo,
            "vivo": self._vivo,
            "meizu": self._meizu,
        }

    def register(self, vendor: str, credentials: Mapping[str, Any]) -> str:
        """Tell the stand-in an app's credentials (the fields push_config takes), as the
        vendor's console knows them: from then on its requests must authenticate with them.
        Returns the app's name in Delivery.verified_app."""
        if vendor == "apns":
            app = f"{credentials['team_id']}:{credentials['key_id']}"
        elif vendor == "fcm":
            app = credentials["client_email"]
        elif vendor == "xiaomi":
            app = credentials["package_name"]
        elif vendor == "oppo":
            app = credentials["app_key"]
        else:
            app = credentials["app_id"]
        self._apps[vendor][app] = dict(credentials)
        return str(app)

    def deliveries_to(self, *tokens: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.token in tokens]

    def __call__(self, request: Request) -> Response:
        vendor, _, rest = request.path.lstrip("/").partition("/")
        route = self._routes.get(vendor)
        if route is None:
            return json_response(404, {"error": f"no stand-in for {request.path}"})
        try:
            return route(request, "/" + rest)
        except _Refused as refused:
            return refused.response
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A request the adapter should never make; each vendor has its own words for it.
            return json_response(400, {"error": f"malformed request: {exc!r}"})

    # ---- shared steps ------------------------------------------------------------------

    def _grant(self, vendor: str, app: str, verified: bool, scope: str) -> str:
        token = f"{vendor}-access-{next(self._counter)}"
        self.grants[token] = Grant(vendor, app, verified, scope)
        return token

    def _granted(self, vendor: str, credential: str, refusal: Response) -> Grant:
        grant = self.grants.get(credential)
        if grant is None or grant.vendor != vendor:
            raise _Refused(refusal)
        return grant

    def _send(
        self,
        request: Request,
        vendor: str,
        token: str,
        shown: tuple[str, str],
        credential: str,
        authenticate: Callable[[], str],
        answer: Callable[[bool], Response],
    ) -> Response:
        """Authenticate a send (its verified app, or _Refused), record it, and answer it:
        accepted, or the vendor's answer for a token it no longer knows."""
        title, body = shown
        try:
            app = authenticate()
        except _Refused:
            refused = Delivery(vendor, token, REFUSED, title, body, "", credential, request)
            self.deliveries.append(refused)
            raise
        known = not token.startswith(UNKNOWN_TOKEN_PREFIX)
        outcome = ACCEPTED if known else TOKEN_INVALID
        self.deliveries.append(
            Delivery(vendor, token, outcome, title, body, app, credential, request)
        )
        return answer(known)

    # ---- APNs: the HTTP/2 provider API with token-based authentication ------------------

    def _apns(self, request: Request, path: str) -> Response:
        if not path.startswith("/3/device/"):
            return json_response(404, {"reason": "BadPath"})
        if request.http_version != "2":
            return 505, {}, b"HTTP/2 required"
        alert = request.json()["aps"].get("alert", {})
        credential = request.headers.get("authorization", "").removeprefix("bearer ")

        def authenticate() -> str:
            def refuse(status: int, reason: str) -> _Refused:
                return _Refused(json_response(status, {"reason": reason}))

            if not credential:
                raise refuse(403, "MissingProviderToken")
            if not request.headers.get("apns-topic"):
                raise refuse(400, "MissingTopic")
            try:
                unverified = jwt.decode(credential, options={"verify_signature": False})
                app = f"{unverified['iss']}:{jwt.get_unverified_header(credential)['kid']}"
                registered = self._apps["apns"].get(app)
                key = _public_key(registered["private_key_pem"]) if registered else None
                claims = _jwt_claims(credential, key, "ES256", ["iss", "iat"])
            except (jwt.PyJWTError, KeyError):
                raise refuse(403, "InvalidProviderToken") from None
            if claims["iat"] < time.time() - MAX_TOKEN_AGE_S:
                raise refuse(403, "ExpiredProviderToken")
            if registered is None:
                return ""
            if request.headers["apns-topic"] != registered["bundle_id"]:
                raise refuse(400, "DeviceTokenNotForTopic")
            return app

        def answer(known: bool) -> Response:
            if known:
                return 200, {"apns-id": request.headers.get("apns-id", "")}, b""
            return json_response(410, {"reason": "Unregistered", "timestamp": _now_ms()})

        shown = alert.get("title", ""), alert.get("body", "")
        return self._send(
            request, "apns", apns_token(request), shown, credential, authenticate, answer
        )

    # ---- FCM: Google's OAuth 2.0 token endpoint and the HTTP v1 API ---------------------

    def _fcm(self, request: Request, path: str) -> Response:
        if path == "/token":
            return self._google_token(request)
        project = path.removeprefix("/v1/projects/").removesuffix("/messages:send")
        message = request.json()["message"]
        credential = request.headers.get("authorization", "").removeprefix("Bearer ")

        def authenticate() -> str:
            unauthenticated = {
                "code": 401,
                "message": "Request had invalid authentication credentials. Expected OAuth 2 "
                "access token, login cookie or other valid authentication credential.",
                "status": "UNAUTHENTICATED",
            }
            grant = self._granted("fcm", credential, json_response(401, {"error": unauthenticated}))
            if grant.scope != project:
                denied = {
                    "code": 403,
                    "message": "Permission 'cloudmessaging.messages.create' denied on resource "
                    f"'//cloudresourcemanager.googleapis.com/projects/{project}'",
                    "status": "PERMISSION_DENIED",
                }
                raise _Refused(json_response(403, {"error": denied}))
            return grant.app if grant.verified else ""

        def answer(known: bool) -> Response:
            if known:
                return json_response(
                    200, {"name": f"projects/{project}/messages/0:{next(self._counter)}"}
                )
            unregistered = {
                "code": 404,
                "message": "Requested entity was not found.",
                "status": "NOT_FOUND",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                        "errorCode": "UNREGISTERED",
                    }
                ],
            }
            return json_response(404, {"error": unregistered})

        shown = message["notification"]["title"], message["notification"]["body"]
        return self._send(request, "fcm", message["token"], shown, credential, authenticate, answer)

    def _google_token(self, request: Request) -> Response:
        """The service-account flow: an RS256 assertion for the messaging scope, addressed to
        this endpoint, living at most an hour, signed with the account's key."""
        form = _form(request)
        if form.get("grant_type") != GOOGLE_JWT_BEARER_GRANT:
            refusal = {
                "error": "unsupported_grant_type",
                "error_description": f"Invalid grant_type: {form.get('grant_type', '')}",
            }
            return json_response(400, refusal)
        assertion = form.get("assertion", "")
        try:
            email = jwt.decode(assertion, options={"verify_signature": False})["iss"]
            registered = self._apps["fcm"].get(email)
            key = _public_key(registered["private_key"]) if registered else None
            audience = f"http://{request.headers['host']}/fcm/token"
            claims = _jwt_claims(
                assertion, key, "RS256", ["iss", "scope", "aud", "iat", "exp"], audience
            )
            kid = jwt.get_unverified_header(assertion).get("kid")
            if registered and kid != registered["private_key_id"]:
                raise jwt.InvalidTokenError("kid is not the key's id")
        except (jwt.PyJWTError, KeyError, ValueError):
            refusal = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            return json_response(400, refusal)
        if FCM_SCOPE not in str(claims.get("scope", "")).split() or (
            claims["exp"] - claims["iat"] > MAX_TOKEN_AGE_S
        ):
            refusal = {
                "error": "invalid_grant",
                "error_description": "Invalid JWT: Token must be a short-lived token (60 "
                "minutes) and in a reasonable timeframe.",
            }
            return json_response(400, refusal)
        # A service account's e-mail is <name>@<project>.iam.gserviceaccount.com.
        project = registered["project_id"] if registered else email.split("@")[-1].split(".")[0]
        token = self._grant("fcm", email, registered is not None, project)
        return json_response(
            200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        )

    # ---- Huawei Push Kit: OAuth 2.0 client credentials and the v1 messages:send ----------

    def _huawei(self, request: Request, path: str) -> Response:
        if path == "/token":
            form = _form(request)
            registered = self._apps["huawei"].get(form.get("client_id", ""))
            if form.get("grant_type") != "client_credentials" or (
                registered is not None and form.get("client_secret") != registered["client_secret"]
            ):
                refusal = {"error": 1101, "sub_error": 20001, "error_description": "invalid client"}
                return json_response(400, refusal)
            token = self._grant(
                "huawei", form["client_id"], registered is not None, form["client_id"]
            )
            return json_response(
                200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
            )
        app_id = path.removeprefix("/v1/").removesuffix("/messages:send")
        message = request.json()["message"]
        (token,) = message["token"]
        notification = message["android"]["notification"]
        credential = request.headers.get("authorization", "").removeprefix("Bearer ")

        def reply(status: int, code: str, msg: str) -> Response:
            request_id = f"{_now_ms()}{next(self._counter):06d}"
            return json_response(status, {"code": code, "msg": msg, "requestId": request_id})

        def authenticate() -> str:
            grant = self._granted(
                "huawei", credential, reply(401, "80200003", "Oauth Token expired")
            )
            if grant.scope != app_id:
                # A token of one app used to push for another (Push Kit's result-code table).
                raise _Refused(reply(401, "80200001", "Oauth authentication error"))
            return grant.app if grant.verified else ""

        def answer(known: bool) -> Response:
            if known:
                return reply(200, "80000000", "Success")
            return reply(400, "80300007", "All the tokens are invalid")

        shown = notification["title"], notification["body"]
        return self._send(request, "huawei", token, shown, credential, authenticate, answer)

    # ---- Xiaomi MiPush: /v3/message/regid with the app secret ---------------------------

    def _xiaomi(self, request: Request, path: str) -> Response:
        if path != "/v3/message/regid":
            return json_response(404, {"result": "error", "code": 404, "reason": "not found"})
        form = _form(request)
        token = form["registration_id"]
        credential = request.headers.get("authorization", "")

        def authenticate() -> str:
            package = form["restricted_package_name"]
            registered = self._apps["xiaomi"].get(package)
            secret = credential.removeprefix("key=")
            if (
                secret == credential
                or not secret
                or (registered is not None and secret != registered["app_secret"])
            ):
                refusal = {"result": "error", "code": 21301, "reason": "认证失败"}
                raise _Refused(json_response(401, refusal))
            return package if registered else ""

        def answer(known: bool) -> Response:
            data = {"id": f"slm{next(self._counter)}"}
            if not known:
                data["bad_regids"] = token
            return json_response(200, {"result": "ok", "code": 0, "data": data})

        shown = form["title"], form["description"]
        return self._send(request, "xiaomi", token, shown, credential, authenticate, answer)

    # ---- OPPO PUSH: the signed /server/v1/auth, then unicast with its auth_token --------

    def _oppo(self, request: Request, path: str) -> Response:
        form = _form(request)

        def reply(code: int, message: str, data: Any = None) -> Response:
            return json_response(200, {"code": code, "message": message, "data": data})

        if path == "/server/v1/auth":
            app_key, timestamp, sign = form["app_key"], form["timestamp"], form["sign"]
            if not timestamp.isdigit():
                return reply(19, "Invalid Timestamp")
            registered = self._apps["oppo"].get(app_key)
            signed = _is_hex(sign, 64)
            if registered is not None:
                text = f"{app_key}{timestamp}{registered['master_secret']}"
                signed = signed and sign == hashlib.sha256(text.encode()).hexdigest()
            if not signed:
                return reply(16, "Invalid Signature")
            token = self._grant("oppo", app_key, registered is not None, app_key)
            return reply(0, "Success", {"auth_token": token, "create_time": _now_ms()})
        message = json.loads(form["message"])
        notification = message["notification"]
        # The doc has auth_token in the request body.
        credential = form.get("auth_token", "")

        def authenticate() -> str:
            if not credential:
                raise _Refused(reply(29, "Missing Auth Token"))
            grant = self._granted("oppo", credential, reply(11, "Invalid AuthToken"))
            return grant.app if grant.verified else ""

        def answer(known: bool) -> Response:
            if known:
                return reply(0, "Success", {"messageId": f"oppo-1-1-{next(self._counter)}"})
            return reply(10000, "Invalid Registration_id")

        shown = notification["title"], notification["content"]
        return self._send(
            request, "oppo", message["target_value"], shown, credential, authenticate, answer
        )

    # ---- vivo push: the signed /message/auth, then /message/send with its authToken -----

    def _vivo(self, request: Request, path: str) -> Response:
        doc = request.json()

        def reply(result: int, desc: str, **more: Any) -> Response:
            return json_response(200, {"result": result, "desc": desc, **more})

        if path == "/message/auth":
            app_id, app_key, timestamp = str(doc["appId"]), doc["appKey"], int(doc["timestamp"])
            registered = self._apps["vivo"].get(app_id)
            sign = str(doc["sign"])
            signed = abs(timestamp - _now_ms()) <= VIVO_TIMESTAMP_SKEW_MS and _is_hex(sign, 32)
            if registered is not None:
                expected = _md5(f"{app_id}{app_key}{timestamp}{registered['app_secret']}")
                signed = signed and app_key == registered["app_key"] and sign == expected
            if not signed:
                return reply(VIVO_AUTH_FAILED, "鉴权失败")
            token = self._grant("vivo", app_id, registered is not None, app_id)
            return reply(0, "请求成功", authToken=token)
        credential = request.headers.get("authtoken", "")
        token = doc["regId"]

        def authenticate() -> str:
            grant = self._granted("vivo", credential, reply(VIVO_AUTH_FAILED, "鉴权失败"))
            if grant.scope != str(doc["appId"]):
                # Since 2.9.2 the body's appId is checked against the token's app.
                raise _Refused(reply(10094, "appId不一致"))
            return grant.app if grant.verified else ""

        def answer(known: bool) -> Response:
            if known:
                return reply(0, "请求成功", taskId=str(next(self._counter)))
            return reply(10302, "regId不合法", invalidUser={"status": 1, "userid": token})

        shown = doc["title"], doc["content"]
        return self._send(request, "vivo", token, shown, credential, authenticate, answer)

    # ---- Meizu: pushByPushId, a form signed with the app secret ------------------------

    def _meizu(self, request: Request, path: str) -> Response:
        form = _form(request)
        notice = json.loads(form["messageJson"])["noticeBarInfo"]
        credential = form.get("sign", "")
        (token,) = form["pushIds"].split(",")

        def reply(code: str, message: str, value: Any) -> Response:
            return json_response(
                200,
                {
                    "code": code,
                    "message": message,
                    "value": value,
                    "redirect": "",
                    "msgId": f"NS{next(self._counter)}",
                },
            )

        def authenticate() -> str:
            registered = self._apps["meizu"].get(form["appId"])
            # Sorted k=v with nothing between, then the AppSecret, MD5 in lower-case hex.
            signed = _is_hex(credential, 32)
            if registered is not None:
                text = "".join(f"{k}={form[k]}" for k in sorted(form) if k != "sign")
                signed = signed and credential == _md5(text + registered["app_secret"])
            if not signed:
                raise _Refused(reply("1006", "invalid sign", ""))
            return form["appId"] if registered else ""

        def answer(known: bool) -> Response:
            # A "200" reply lists the pushIds that failed, by code; 110003: not a valid pushId.
            return reply("200", "", {} if known else {"110003": [token]})

        shown = notice["title"], notice["content"]
        return self._send(request, "meizu", token, shown, credential, authenticate, answer)


# The stand-in the session's stack is aimed at (tests/conftest.py: push_vendor).
vendor_stand_in = VendorStandIn()
