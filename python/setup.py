"""Copies the C library `make release` built (../.build/release/libWinnowFeedC.so) into the
package, so that `pip install ./python` after `make release` is all a user does. Nothing is
compiled here."""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
LIBRARY = os.environ.get("WINNOW_FEED_LIBRARY") or os.path.join(HERE, "..", ".build", "release", "libWinnowFeedC.so")


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        if not os.path.exists(LIBRARY):
            raise SystemExit(
                f"winnow-feed: {LIBRARY} is missing; run `make release` in the repository first "
                "(or set WINNOW_FEED_LIBRARY to the library's path)")
        target = os.path.join(self.build_lib, "winnow_feed", "lib")
        os.makedirs(target, exist_ok=True)
        shutil.copy2(LIBRARY, os.path.join(target, "libWinnowFeedC.so"))


setup(cmdclass={"build_py": BuildWithLibrary})
