"""JWT bearer tokens (HS256): minted by clients and load generators, verified by the service."""

import time

import jwt

ALGORITHM = "HS256"
# RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES = 32
DEFAULT_MAX_LIFETIME_SECONDS = 86_400


class AuthError(Exception):
    """A request's token is missing or not acceptable; the message says why."""


def mint_token(secret: str, subject: str, ttl_seconds: int = 3600) -> str:
    """A token for `subject` that expires in `ttl_seconds`."""
    now = int(time.time())
    return jwt.encode({"sub": subject, "iat": now, "exp": now + ttl_seconds}, secret, algorithm=ALGORITHM)


def verify_token(token: str, secret: str, max_lifetime_seconds: int = DEFAULT_MAX_LIFETIME_SECONDS) -> str:
    """The token's subject; raises AuthError when it is expired, forged, malformed or lives too long.

    A token may be valid for at most `max_lifetime_seconds`, counted from its `iat` and from now, so a
    leaked long-lived token is refused even before it expires.
    """
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.InvalidSignatureError:
        raise AuthError("token signature is invalid") from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(f"token lacks the required claim {exc.claim!r}") from None
    except jwt.InvalidAlgorithmError:
        raise AuthError(f"token algorithm is not {ALGORITHM}") from None
    except jwt.InvalidTokenError:
        raise AuthError("token is malformed") from None
    for claim in ("exp", "iat"):
        # PyJWT also accepts a numeric string; RFC 7519 says NumericDate, a JSON number.
        if claim in claims and (
            isinstance(claims[claim], bool) or not isinstance(claims[claim], int | float)
        ):
            raise AuthError(f"token claim {claim!r} must be a number of seconds")
    exp = claims["exp"]
    issued = claims.get("iat", time.time())
    if exp - min(issued, time.time()) > max_lifetime_seconds:
        raise AuthError(f"token lifetime exceeds the maximum of {max_lifetime_seconds} s")
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise AuthError("token subject must be a non-empty string")
    return subject


def bearer_token(authorization: str | None) -> str:
    """The token in an `Authorization: Bearer <token>` header."""
    if not authorization:
        raise AuthError("missing bearer token: send 'Authorization: Bearer <JWT>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization header must be 'Bearer <JWT>'")
    return token.strip()
