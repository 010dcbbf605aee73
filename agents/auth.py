"""JWT bearer tokens (HS256): minted by clients and load generators, verified by the service."""

import time

import jwt

ALGORITHM = "HS256"


class AuthError(Exception):
    """A request's token is missing or not acceptable; the message says why."""


def mint_token(secret: str, subject: str, ttl_seconds: int = 3600) -> str:
    """A token for `subject` that expires in `ttl_seconds`."""
    now = int(time.time())
    return jwt.encode({"sub": subject, "iat": now, "exp": now + ttl_seconds}, secret, algorithm=ALGORITHM)


def verify_token(token: str, secret: str) -> str:
    """The token's subject; raises AuthError when it is expired, forged or malformed."""
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
