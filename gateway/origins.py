"""Where the provider may send the card holder back to: `return_url` against allowed origins."""

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def return_url_allowed(url: str, origins: list[str]) -> bool:
    """True when `url`'s origin is one of `origins` (`scheme://host[:port]`, `:*` any port).

    The provider sends the card holder back to `return_url`: an open redirect there would
    lend the cinema's payment page to phishing, so only the configured origins are accepted.
    """
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    scheme = parts.scheme.lower()
    exact = f"{scheme}://{host}:{port}"
    return any(
        origin in (exact, f"{scheme}://{host}:*")
        or (origin == f"{scheme}://{host}" and port == DEFAULT_PORTS.get(scheme))
        for origin in origins
    )
