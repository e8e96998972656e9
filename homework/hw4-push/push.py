"""HW4: push your image to a registry.

The checker builds the Dockerfile in this folder, starts a private registry on your machine
that requires a login, and calls push(registry, image). Write push() so that it logs in,
pushes `image` and returns the digest the push reports.
"""

import helpers as wb


def push(registry: wb.registry.LocalRegistry, image: str) -> str:
    """Log in to `registry`, push `image` as homework/hello:1.0, return the pushed digest."""
    # TODO 1: log in (registry.login() knows the user name and password).
    # TODO 2: push `image` (registry.push(LOCAL_IMAGE, NAME, TAG) tags, pushes and
    #         returns the digest).
    # TODO 3: return that digest.
    raise NotImplementedError("write push() first")
