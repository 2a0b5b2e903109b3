"""An independent OAuth2 / OpenID Connect provider (django-oauth-toolkit) for tests on loopback.

Start it with ``python -m tests.dot_server.serve [--port N]`` from the repository root, or from
tests through :class:`dot_provider.DotServer`. Nothing here is shipped with ringplus-tui.
"""
