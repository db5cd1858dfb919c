"""One error type for the local stack, whose message is the sentence shown to the person."""

from bridge.errors import SetupError

StackError = SetupError
