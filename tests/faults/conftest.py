"""The fault suite runs on the private stack of tests/private_stack.py (fixture `private_stack`
in tests/conftest.py): killing and freezing its servers never touches the shared ones."""

from tests.private_stack import PrivateStack, free_ports

__all__ = ["PrivateStack", "free_ports"]
