from tests.sandboxing import bwrap

__all__ = ["bwrap"]
