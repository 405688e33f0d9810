"""Notebook display helpers."""

import inspect


def show_source(obj):
    """The source of a function, class or module, highlighted: lessons show it, never retype it.

    Parameters
    ----------
    obj : a function, method, class or module written in Python

    Returns
    -------
    IPython.display.Markdown holding the source in a Python code block.

    Raises TypeError for anything else (a number, a string, a builtin such as len), and
    ValueError when obj has no Python source to show (a class compiled in C such as
    numpy.ndarray, or code typed into a notebook whose file is gone).
    """
    from IPython.display import Markdown

    name = getattr(obj, "__qualname__", getattr(obj, "__name__", type(obj).__name__))
    try:
        source = inspect.getsource(obj)
    except TypeError:
        raise TypeError(f"obj must be a function, class or module written in Python, got "
                        f"{type(obj).__name__} ({name}): builtins and compiled functions have "
                        f"no source to show") from None
    except OSError as err:
        raise ValueError(f"the source of obj ({name}) is not available: it is compiled (a "
                         f"builtin or C extension) or its file is gone ({err})") from None
    return Markdown(f"```python\n{source}```")
