"""Packages: everything under bot/, plus the top-level policy library shipped as `bot.policies`.

(pyproject.toml holds the rest; a mapped package outside bot/ is the one thing it cannot say.)
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["bot", "bot.*"]), "bot.policies"],
    package_dir={"bot.policies": "policies"},
)
