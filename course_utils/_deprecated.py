"""Old names that keep working for one release, with a DeprecationWarning naming the new one.

A learner's saved notebook may call ``backend.compare_devices`` or pass ``n_iters=``; both
still work, and say what to write instead. A module whose names moved ends with

    def __getattr__(name):
        from ._deprecated import moved
        return moved(__name__, name)

and a function whose keyword was renamed is wrapped in ``renamed_keywords(old="new")``.
Remove an entry (and its wrapper) one release after it was added.
"""

import functools
import importlib
import warnings

# module -> {old name: (module that has it now, its name there)}
MOVED = {
    "course_utils.backend": {
        "timeit": ("course_utils.timing", "timeit"),
        "Timing": ("course_utils.timing", "Timing"),
        "compare_devices": ("course_utils.timing", "compare_devices"),
        "DeviceComparison": ("course_utils.timing", "DeviceComparison"),
        "assert_agree": ("course_utils.timing", "assert_agree"),
        "device_toggle": ("course_utils.widgets", "device_toggle"),
        "explain_mixed_devices": ("course_utils.widgets", "explain_mixed_devices"),
    },
    "course_utils.nn": {
        "numerical_gradient": ("course_utils.gradcheck", "numerical_gradient"),
        "relative_error": ("course_utils.gradcheck", "relative_error"),
        "sigmoid": ("course_utils.numerics", "sigmoid"),
    },
    "course_utils.density": {"logsumexp": ("course_utils.numerics", "logsumexp")},
    "course_utils.markov": {
        **{name: ("course_utils.datasets", name) for name in ("TEXTS", "load_text", "tokenize")},
        **{name: ("course_utils.pagerank", name) for name in (
            "MAX_DENSE_PAGES", "MAX_PAGES", "MAX_GRAPH_PAGES", "google_matrix", "pagerank",
            "random_graph")},
        **{name: ("course_utils.ngrams", name) for name in (
            "BOS", "EOS", "UNK", "WordModel", "train_word_model", "next_word_probs", "suggest",
            "sample_line", "token_log_probs", "log_likelihood", "classify", "perplexity")},
    },
    "course_utils.recsys": {
        **{name: ("course_utils.datasets", name) for name in (
            "SCALE", "MAX_IDS", "WHERE_TO_GET", "MOVIELENS_FILES", "Ratings", "generate_ratings",
            "load_movielens", "fetch_movielens", "split_ratings")},
        **{name: ("course_utils.spark", name) for name in (
            "JVM_OPTIONS", "spark_missing", "spark_session", "fit_spark_als")},
    },
    "course_utils.rnn": {name: ("course_utils.datasets", name) for name in (
        "parity_data", "encode_chars", "one_hot", "windows")},
}


def moved(module, name):
    """The object module's old attribute name now refers to, with a DeprecationWarning; an
    AttributeError as usual for a name that never existed."""
    new_module, new_name = MOVED.get(module, {}).get(name, (None, None))
    if new_module is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    short = module.removeprefix("course_utils.")
    warnings.warn(f"{short}.{name} is now {new_module.removeprefix('course_utils.')}."
                  f"{new_name}; the old name will be removed in the next release",
                  DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(new_module), new_name)


def renamed_keywords(**old_to_new):
    """Let a function still take its old keyword names, with a DeprecationWarning each time.

    Passing both the old and the new name is a TypeError."""
    def decorate(fn):
        @functools.wraps(fn)
        def call(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}() got both {old}= and {new}=; "
                                        f"{old} is the old name of {new}")
                    warnings.warn(f"{fn.__name__}({old}=...) is now {fn.__name__}({new}=...); "
                                  f"the old name will be removed in the next release",
                                  DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return call
    return decorate
