"""One error type for the local stack, whose message is the sentence shown to the person."""


class StackError(Exception):
    """A setup or start failure: the message says what is wrong and how to fix it."""
