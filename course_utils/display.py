"""Notebook display helpers."""

import inspect


def show_source(obj):
    """The source of a function, class or module, highlighted: lessons show it, never retype it."""
    from IPython.display import Markdown

    try:
        source = inspect.getsource(obj)
    except TypeError:
        raise TypeError(
            f"obj must be a function, class or module, got {type(obj).__name__}") from None
    return Markdown(f"```python\n{source}```")
