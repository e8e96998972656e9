"""HW4 · push your image to a registry: start a private registry that needs a login, call the
learner's push(registry, image), then pull what it returned by digest and compare it with the
image it was given."""

from __future__ import annotations

import contextlib
import importlib.util
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docker.errors import APIError

from helpers.engine import daemon, images
from helpers.engine.registry import LocalRegistry, LoginRefused, RegistryError
from helpers.errors import WorkbookError
from helpers.exercises.assignments import HOMEWORK
from helpers.exercises.checks import Check, Step, build_image, run_steps, start
from helpers.exercises.feedback import Feedback

PushFunction = Callable[[LocalRegistry, str], object]


def _load_push(folder: Path) -> PushFunction | str:
    """push() from the folder's push.py, or a sentence saying why it could not be loaded."""
    path = folder / "push.py"
    if not path.is_file():
        return f"there is no push.py in {folder.name}"
    spec = importlib.util.spec_from_file_location(f"homework_push_{abs(hash(str(path)))}", path)
    if spec is None or spec.loader is None:
        return f"{path.name} cannot be imported"
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        return f"push.py does not load: {type(error).__name__}: {error}"
    function = getattr(module, "push", None)
    if not callable(function):
        return "push.py has no function push(registry, image)"
    return function  # type: ignore[no-any-return]


def _remove_local(prefix: str) -> None:
    client = daemon.client()
    for image in client.api.images():  # one call: no race with images deleted meanwhile
        for tag in image.get("RepoTags") or []:
            if tag.startswith(prefix):
                with contextlib.suppress(APIError):
                    client.images.remove(tag)


@dataclass
class PushCheck:
    """What one HW4 check works with: the push function (or why there is none), the image to
    push and its platform digest, the registry, and the digest push() returned."""

    push_function: PushFunction | str
    image: str | None
    content: str = ""
    registry: LocalRegistry | None = None
    digest: object = None

    def steps(self) -> tuple[Step, ...]:
        return (Step((), self.loaded), Step((), self.image_ready), Step(("the push", "the pull by digest"), self.push))

    def loaded(self, check: Check) -> bool:
        if isinstance(self.push_function, str):
            check.feedback.fail(
                self.push_function, "write push(registry, image) in push.py (the starter file has the outline)"
            )
            return False
        return True

    def image_ready(self, check: Check) -> bool:
        if self.image is None:
            if not build_image(check, check.tag()):
                return False
            self.image = check.built.ref
        return True

    def push(self, check: Check) -> bool:
        """Start the registry, then push and pull by digest in it."""
        assert self.image is not None
        try:
            self.content = images.platform_digest(self.image)
        except WorkbookError as error:
            check.feedback.fail(f"the image {self.image} is not on this engine", error.hint or "build it first")
            return True  # nothing later to skip
        try:
            self.registry = LocalRegistry().start()
        except WorkbookError as error:
            check.feedback.fail(
                f"the checker could not start a registry: {error.what}", error.hint or "read the message"
            )
            return True
        try:
            run_steps(check, (Step((), self.pushed), Step(("the pull by digest",), self.pulled)))
        finally:
            self.registry.stop()
        return True

    def pushed(self, check: Check) -> bool:
        feedback = check.feedback
        assert self.registry is not None and self.image is not None and not isinstance(self.push_function, str)
        try:
            self.digest = self.push_function(self.registry, self.image)
        except LoginRefused as error:
            feedback.fail(
                f"the registry refused your login ({error.what.split('refused the login of ')[-1]})",
                "log in with the registry's own credentials: registry.login() uses registry.user and registry.password",
            )
            return False
        except RegistryError as error:
            if "not logged in" in error.what:
                feedback.fail(
                    "the push failed because you are not logged in to the registry",
                    "call registry.login() before registry.push(...) (in a terminal: docker login 127.0.0.1:PORT)",
                )
            else:
                feedback.fail(f"the push failed: {error.what}", error.hint or "read the message")
            return False
        except NotImplementedError:
            feedback.fail(
                "push() is not written yet (it raises NotImplementedError)", "follow the three TODOs in push.py"
            )
            feedback.skip("the push")  # nothing was pushed: the push itself is not checked either
            return False
        except Exception as error:
            tail = "".join(traceback.format_exception(error)[-3:])
            feedback.fail(
                f"push() raised {type(error).__name__}: {error}", "fix push() (the end of the traceback is below)", tail
            )
            return False
        return True

    def pulled(self, check: Check) -> bool:
        """`content` is the platform digest of `image` (see check_hw4)."""
        feedback, registry, digest, content = check.feedback, self.registry, self.digest, self.content
        assert registry is not None
        registry.login()  # the checker's own login, for reading the registry
        stored = {repo: registry.tags(repo) for repo in registry.catalog()}
        if not stored:
            feedback.fail(
                "push() returned, but nothing arrived in the registry",
                "call registry.push(image, NAME, TAG) inside push()",
            )
            return True
        listed = ", ".join(f"{repo}:{tag}" for repo, tags in stored.items() for tag in tags)
        feedback.ok(f"you logged in and pushed: the registry holds {listed}")
        if not (isinstance(digest, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", digest)):
            feedback.fail(
                f"push() returned {digest!r}, not the digest of what it pushed",
                "return what registry.push(...) returns: a digest such as sha256:3f4c…",
            )
            return True
        _remove_local(f"{registry.host}/")  # so the pull below really downloads
        for repository in stored:
            try:
                pulled = registry.pull(repository, digest)
            except RegistryError:
                continue
            pulled_content = images.platform_digest(pulled)
            if pulled_content == content:
                feedback.ok(
                    f"pulling {repository}@{digest[:19]}… gives back the very image you pushed "
                    f"(same content: platform digest {content[7:19]})"
                )
            else:
                feedback.fail(
                    f"the image stored under {digest[:19]}… (platform digest {pulled_content[7:19]}) is not the "
                    f"image you were given to push (platform digest {content[7:19]})",
                    "push the `image` argument that push() receives, not another image",
                )
            return True
        feedback.fail(
            f"no repository in the registry has the digest push() returned ({digest[:19]}…)",
            "return the digest of this push, exactly as registry.push(...) returns it",
        )
        return True


def check(work: str | Path | PushFunction | None = None, *, image: str | None = None) -> Feedback:
    if callable(work):
        started = start("hw4", HOMEWORK["hw4"].starter)
        if isinstance(started, Feedback):
            return started
        started.feedback.folder = f"push function {getattr(work, '__name__', 'push')}()"
        push_function: PushFunction | str = work
    else:
        started = start("hw4", work)
        if isinstance(started, Feedback):
            return started
        push_function = _load_push(started.folder)
    return run_steps(started, PushCheck(push_function, image).steps())
