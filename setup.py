"""Packages: everything under bot/, plus two top-level folders shipped inside it.

`policies/` (the policy library) ships as `bot.policies`; `examples/` ships as `bot.examples`, so
`mlbot demo` finds examples/breast-cancer in an installed wheel too. pyproject.toml holds the rest;
a mapped package outside bot/ is the one thing it cannot say.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["bot", "bot.*"]), "bot.policies", "bot.examples"],
    package_dir={"bot.policies": "policies", "bot.examples": "examples"},
)
