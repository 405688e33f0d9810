"""The course's data: the shipped texts and their words, generated data, and MovieLens.

Nothing here reaches the network while lessons or tests run: the texts ship with the package
(course_utils/data/, sources in its README), the generators draw from a seed, and MovieLens is
read from the learner's disk (load_movielens) or, as one deliberate step, downloaded once and
checked (fetch_movielens).
"""

import importlib.resources
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._checks import (
    Array,
    Bool,
    Choice,
    Custom,
    FloatDtype,
    Int,
    IntArray,
    Optional,
    Real,
    Seed,
    Text,
    Xp,
    check_device,
    check_fields,
    check_int_array,
    check_scale,
    check_vocab,
    checked,
    from_outside,
    rng_from,
)
from .backend import get_array_module

# ----------------------------------------------------------------------------- texts


TEXTS = ("poe", "frost")


@checked(name=Choice(*TEXTS))
def load_text(name):
    """A public-domain text shipped with the course (see course_utils/data/README.md).

    Parameters
    ----------
    name : "poe" (poems of Edgar Allan Poe) or "frost" (poems of Robert Frost, before 1929)

    Returns
    -------
    str
    """
    return (importlib.resources.files("course_utils") / "data" / f"{name}.txt").read_text(
        encoding="utf-8")


_LETTERS = r"[^\W\d_]+"  # letters of any alphabet: \w without digits and the underscore


_WORD = _LETTERS + r"(?:'" + _LETTERS + r")*"


WORD = re.compile(_WORD)  # one word as tokenize reads it (match a normalised text)


WORD_OR_LINE_END = re.compile(_WORD + r"|\n")  # words and the line ends between them


@checked(text=Text())
def normalise(text):
    """text as tokenize reads it: lower case, typographic apostrophes (\u2019, \u02bc) as '.

    Parameters
    ----------
    text : str

    Returns
    -------
    str, of the same length.
    """
    return text.lower().replace("\u2019", "'").replace("\u02bc", "'")


@checked(text=Text())
def tokenize(text):
    """text as lines of lower-case words (letters of any alphabet, apostrophes kept inside
    words, typographic apostrophes as '; digits and punctuation dropped); lines without words
    are left out.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of lists of str
    """
    return [words for line in normalise(text).split("\n") if (words := WORD.findall(line))]


# ----------------------------------------------------------------------------- ratings


SCALE = (1.0, 5.0)  # MovieLens' stars


MAX_IDS = 2**31 - 1  # users and items are numbered as 32-bit ints (as Spark, and most libraries)


WHERE_TO_GET = ("MovieLens is published by GroupLens at https://grouplens.org/datasets/movielens/"
                " (ml-100k.zip holds u.data, ml-1m.zip ratings.dat); fetch_movielens downloads "
                "it, or unzip it yourself and pass the folder, the file or the zip")


# GroupLens's archives and their SHA-256 (the files have not changed since their release; the
# same digests are pinned by TensorFlow Datasets). fetch_movielens refuses any other bytes.
MOVIELENS_FILES = {
    "100k": ("https://files.grouplens.org/datasets/movielens/ml-100k.zip",
             "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"),
    "1m": ("https://files.grouplens.org/datasets/movielens/ml-1m.zip",
           "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20"),
}


def _mask(mask, name, values, xp):
    """A boolean mask over the ratings of values["self"], on their device."""
    data = values["self"]
    xp = get_array_module(data.ratings)
    check_device(mask, name, xp)
    mask = xp.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"{name} must be a boolean array, got dtype {mask.dtype}")
    if mask.shape != (len(data),):
        raise ValueError(f"{name} must have shape ({len(data)},), got {mask.shape}")
    return mask


@dataclass(frozen=True)
class Ratings:
    """Observed ratings: rating[k] of item items[k] by user users[k], checked on creation.

    A pair rated twice counts as two observations in the factor models' least squares;
    user_based_predict refuses it (a user's rating of an item must be one number there).

    Parameters
    ----------
    users, items : int arrays (n,), ids in [0, n_users) and [0, n_items) (stored as int64)
    ratings : float array (n,), each in [scale[0], scale[1]]
    n_users, n_items : int in [1, 2**31 - 1], optional; default one more than the largest id
    scale : (low, high), two finite reals, the declared rating scale
    """

    users: object
    items: object
    ratings: object
    n_users: int | None = None
    n_items: int | None = None
    scale: tuple = SCALE

    def __post_init__(self):
        check_fields(self, ratings=Array(ndim=(1,)), scale=Custom(_on_the_scale, values=True),
                     n_users=Optional(Int(high=MAX_IDS, high_is="2**31 - 1")),
                     n_items=Optional(Int(high=MAX_IDS, high_is="2**31 - 1")),
                     users=Custom(_ids, values=True, device_of=lambda ids: ids),
                     items=Custom(_ids, values=True, device_of=lambda ids: ids))
        for ids, n in (("users", "n_users"), ("items", "n_items")):
            if getattr(self, n) is None:
                object.__setattr__(self, n, int(getattr(self, ids).max()) + 1)

    def __len__(self):
        return int(self.ratings.shape[0])

    @checked(mask=Custom(_mask, values=True))
    def subset(self, mask):
        """The ratings where mask is True, with the same n_users, n_items and scale.

        Parameters
        ----------
        mask : bool array (n,) on the ratings' device

        Returns
        -------
        Ratings (possibly empty)
        """
        return Ratings(self.users[mask], self.items[mask], self.ratings[mask], self.n_users,
                       self.n_items, self.scale)


def _on_the_scale(scale, name, values, xp):
    """The scale (low, high) of a Ratings, every rating on it."""
    low, high = check_scale(scale, name)
    ratings = values["ratings"]
    if bool((ratings < low).any()) or bool((ratings > high).any()):
        raise ValueError(f"ratings must lie on the scale [{low:g}, {high:g}], got "
                         f"{float(ratings.min()):g} to {float(ratings.max()):g}")
    return low, high


def _ids(ids, name, values, xp):
    """A Ratings' users or items: int64 ids below its n_users or n_items (2**31 - 1 when not
    given), as many as its ratings once both are checked."""
    short = name.rsplit(".", 1)[-1]
    ids = check_int_array(ids, name, high=values[f"n_{short}"] or MAX_IDS, ndim=1, xp=xp)
    ids = ids.astype(xp.int64)
    if short == "items" and not len(values["users"]) == len(ids) == len(values["ratings"]):
        raise ValueError(f"users, items and ratings must have one length, got "
                         f"{len(values['users'])}, {len(ids)}, {len(values['ratings'])}")
    return ids


def check_ratings(data, name="data", *, empty_ok=False):
    """data as a Ratings holding at least one rating (or none, with empty_ok).

    Parameters
    ----------
    data : anything; name : str, the argument's name in the message
    empty_ok : bool, accept a Ratings without ratings

    Returns
    -------
    data, unchanged (a TypeError naming it when it is not a Ratings, a ValueError when empty)
    """
    if not isinstance(data, Ratings):
        raise TypeError(f"{name} must be a Ratings, got {type(data).__name__}")
    if len(data) == 0 and not empty_ok:
        raise ValueError(f"{name} is empty: it holds no ratings")
    return data


def _ratings_device(data):
    return data.ratings if isinstance(data, Ratings) else None


# How a public function declares a Ratings argument: @checked(train=RATINGS); its ratings set
# the call's device.
RATINGS = Custom(check_ratings, device_of=_ratings_device)


@checked(n_users=Int(), n_items=Int(),
         n_ratings=Int(high=lambda v: v["n_users"] * v["n_items"] // 2 or 1,
                       high_is="half of n_users * n_items"),
         rank=Int(), noise=Real(low=0), seed=Seed(), xp=Xp(), return_truth=Bool())
def generate_ratings(n_users, n_items, n_ratings, *, rank=5, noise=0.7, seed=0, xp=None,
                     return_truth=False):
    """Realistic made-up 1-5 star ratings: low-rank tastes, biases and popularity skew.

    Tastes are rank-dimensional (user p_u, item q_i ~ N(0, 0.5^2)); the true rating is
    m_ui = 3.5 + b_u + c_i + p_u . q_i, and the stars are m_ui + noise, rounded and clipped to
    1..5. Users are active and items popular on a Zipf-like law (a few items get most
    ratings), and popular items are liked a little more; each (user, item) pair is rated at
    most once.

    With return_truth, also the best prediction any model can make of each rating: the
    expected stars given the tastes, E[stars_ui | m_ui] = 1 + sum_{k=1..4} P(m_ui + noise >=
    k + 1/2) (the normal tail; rounding and clipping included). Its RMSE on the ratings is the
    noise floor no model beats on average.

    Parameters
    ----------
    n_users, n_items : int >= 1
    n_ratings : int in [1, n_users * n_items / 2]
    rank : int >= 1, the dimension of the true tastes
    noise : float >= 0, the standard deviation of the noise before rounding
    seed : int, numpy Generator or None
    xp : numpy, cupy or None (the current device)
    return_truth : bool

    Returns
    -------
    Ratings with n_ratings ratings on xp; with return_truth, (ratings, truth): truth a Ratings
    of the same users and items (in the same order, so split_ratings with one seed splits both
    alike) whose ratings are the expected stars
    """
    rng = rng_from(seed)
    activity = 1 / np.arange(1, n_users + 1) ** 0.5
    popularity = 1 / np.arange(1, n_items + 1) ** 0.9
    activity, popularity = (rng.permutation(w / w.sum()) for w in (activity, popularity))
    codes = np.empty(0, dtype=np.int64)
    while len(codes) < n_ratings:  # draw pairs by activity x popularity, keep the first of each
        draw = (rng.choice(n_users, 2 * n_ratings, p=activity) * n_items
                + rng.choice(n_items, 2 * n_ratings, p=popularity))
        both = np.concatenate([codes, draw])
        _, first = np.unique(both, return_index=True)
        codes = both[np.sort(first)]
    codes = codes[:n_ratings]
    users, items = codes // n_items, codes % n_items
    P = rng.normal(0, 0.5, (n_users, rank))
    Q = rng.normal(0, 0.5, (n_items, rank))
    b = rng.normal(0, 0.4, n_users)
    c = rng.normal(0, 0.4, n_items) + 0.3 * np.log(popularity * n_items)
    true = 3.5 + b[users] + c[items] + (P[users] * Q[items]).sum(axis=1)
    stars = np.clip(np.round(true + rng.normal(0, noise, n_ratings)), 1, 5)
    data = Ratings(xp.asarray(users), xp.asarray(items), xp.asarray(stars), n_users, n_items)
    if not return_truth:
        return data
    return data, Ratings(data.users, data.items, xp.asarray(_expected_stars(true, noise)),
                         n_users, n_items)


def _expected_stars(true, noise):
    """E[clip(round(true + N(0, noise^2)), 1, 5)] = 1 + sum_k P(true + noise >= k + 1/2)."""
    if noise == 0:
        return np.clip(np.round(true), 1, 5)
    from scipy.special import ndtr

    return 1 + sum(ndtr((true - (k + 0.5)) / noise) for k in range(1, 5))


def _path(path, name):
    if not isinstance(path, str | Path):
        raise TypeError(f"{name} must be a str or Path, got {type(path).__name__}")
    return Path(path)


@checked(path=Custom(_path))
def load_movielens(path):
    """The MovieLens 100k (u.data) or 1M (ratings.dat) ratings from the learner's disk.

    Nothing is downloaded (fetch_movielens does that): a missing file is a FileNotFoundError
    that says where to get it. Ids are renumbered 0, 1, ... in the order of the original ids
    (1M skips some movie ids).

    Parameters
    ----------
    path : str or Path: the unzipped folder (ml-100k or ml-1m), the file itself (u.data,
        "user item rating timestamp", tab-separated, or ratings.dat,
        "user::item::rating::timestamp"), or GroupLens's zip (ml-100k.zip or ml-1m.zip)

    Returns
    -------
    (Ratings, timestamps, user_ids, item_ids): NumPy arrays, timestamps int64 (n,), and the
    original ids of users 0, 1, ... and items 0, 1, ...
    """
    if path.is_dir():
        found = [p for p in (path / "u.data", path / "ratings.dat") if p.is_file()]
        if not found:
            raise FileNotFoundError(f"path {path} holds neither u.data nor ratings.dat. "
                                    f"{WHERE_TO_GET}")
        path = found[0]
    if not path.is_file():
        raise FileNotFoundError(f"path {path} does not exist. {WHERE_TO_GET}")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist()
                       if m.endswith(("/u.data", "/ratings.dat")) or m in ("u.data",
                                                                              "ratings.dat")]
            if not members:
                raise ValueError(f"path {path} is a zip without u.data or ratings.dat")
            raw = archive.read(sorted(members, key=len)[0])
    else:
        raw = path.read_bytes()
    text = raw.decode("latin-1").replace("::", "\t")
    try:
        table = np.loadtxt(io.StringIO(text), dtype=np.int64, delimiter="\t", ndmin=2)
    except ValueError as err:
        raise ValueError(f"path {path} is not a MovieLens ratings file: {err}") from None
    if table.shape[1] != 4 or len(table) == 0:
        raise ValueError(f"path {path} must hold rows of user, item, rating, timestamp")
    user_ids, users = np.unique(table[:, 0], return_inverse=True)
    item_ids, items = np.unique(table[:, 1], return_inverse=True)
    data = from_outside(Ratings)(users, items, table[:, 2].astype(np.float64))  # checked
    return data, table[:, 3], user_ids, item_ids


@checked(size=Choice(*MOVIELENS_FILES), cache_dir=Optional(Custom(_path)), progress=Bool())
def fetch_movielens(size, *, cache_dir=None, progress=True):
    """GroupLens's MovieLens ratings, downloaded once into a cache and checked: one call.

    The zip (5 MB for 100k, 6 MB for 1M) is downloaded with pooch, with a progress bar, into
    cache_dir, and kept only when its SHA-256 is the one pinned in MOVIELENS_FILES; a later
    call finds it there and reads it without the network. This is the one function of the
    course that downloads, and no lesson calls it unless the learner asks (lesson 11's
    USE_MOVIELENS).

    Parameters
    ----------
    size : "100k" (943 users, 1682 films, 100 000 ratings) or "1m" (6040 users, 3706 films,
        1 000 209 ratings)
    cache_dir : str or Path, optional; default the user cache folder (pooch.os_cache,
        e.g. ~/.cache/course_utils on Linux)
    progress : bool, show a progress bar (tqdm) while downloading

    Returns
    -------
    as load_movielens: (Ratings, timestamps, user_ids, item_ids)

    Raises
    ------
    ConnectionError, one line, when the file is not cached and cannot be downloaded (no
    network, the server unreachable or refusing); ValueError when the downloaded bytes do not
    have the pinned SHA-256 (nothing is kept)
    """
    import pooch
    import requests

    url, sha256 = MOVIELENS_FILES[size]
    folder = pooch.os_cache("course_utils") if cache_dir is None else cache_dir
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # the progress bar says it all; a failure says it in one line
    try:
        path = pooch.retrieve(url, known_hash=f"sha256:{sha256}", fname=f"ml-{size}.zip",
                              path=folder, progressbar=progress)
    except requests.exceptions.RequestException as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        reason = type(err).__name__ + (f" {status}" if status else "")
        raise ConnectionError(f"MovieLens {size} could not be downloaded from {url} "
                              f"({reason}: no network?)") from None
    except ValueError as err:
        raise ValueError(f"MovieLens {size} from {url} was refused: {err}") from None
    finally:
        logger.setLevel(level)
    return load_movielens(Path(path))


@checked(data=RATINGS, n_folds=Int(low=2, high=lambda v: len(v["data"]), high_is="the ratings"),
         fold=Int(low=0, high=lambda v: v["n_folds"] - 1, high_is="n_folds - 1"), seed=Seed())
def split_ratings(data, n_folds=5, fold=0, *, seed=0):
    """Train and test sets: the ratings shuffled into n_folds folds, fold `fold` held out.

    Parameters
    ----------
    data : Ratings
    n_folds : int >= 2, so the test set is 1/n_folds of the ratings
    fold : int in [0, n_folds)
    seed : int, numpy Generator or None (the same seed gives the same folds; with one seed,
        two Ratings of the same length are split alike, rating k with rating k)

    Returns
    -------
    (train, test), two Ratings on data's device, with data's n_users, n_items and scale
    """
    xp = get_array_module(data.ratings)
    which = xp.asarray(rng_from(seed).permutation(len(data)) % n_folds)
    return data.subset(which != fold), data.subset(which == fold)


# ----------------------------------------------------------------------------- sequences


@checked(n=Int(), length=Int(), running=Bool(), xp=Xp(), seed=Seed())
def parity_data(n, length, *, running=False, seed=0, xp=None):
    """Random bit sequences and their parity (1 when the number of ones is odd).

    Parameters
    ----------
    n : int >= 1, the number of sequences.  length : int >= 1, T.
    running : bool; True gives the parity of the bits so far at every step.
    seed : int >= 0, numpy Generator or None (default 0).
    xp : numpy, cupy or None (the current device).

    Returns
    -------
    (x, y): x float64 (T, n, 1) of 0s and 1s; y int64 parities, (n,) of the whole sequence,
    or (T, n) for running=True; on xp's device.
    """
    bits = rng_from(seed).integers(0, 2, (length, n))
    y = bits.cumsum(axis=0) % 2 if running else bits.sum(axis=0) % 2
    return xp.asarray(bits[:, :, None], dtype=np.float64), xp.asarray(y)


def _text(text, name):
    if not isinstance(text, str) or not text:
        raise (TypeError if not isinstance(text, str) else ValueError)(
            f"{name} must be a non-empty str")
    return text


def _vocab_of_text(vocab, name, values, xp):
    """vocab as a str of distinct characters holding every character of values["text"]
    (None: the text's own characters, sorted)."""
    text = values["text"]
    vocab = check_vocab("".join(sorted(set(text))) if vocab is None else vocab, name)
    unknown = sorted(set(text) - set(vocab))
    if unknown:
        raise ValueError(f"text has characters outside the vocabulary: {''.join(unknown)!r}")
    return vocab


@checked(text=Custom(_text), vocab=Custom(_vocab_of_text, values=True))
def encode_chars(text, vocab=None):
    """text as character ids, and the vocabulary (its distinct characters, sorted).

    Parameters
    ----------
    text : str, not empty.  vocab : None (build it from text) or a str of distinct
        characters: every character of text must be in it.

    Returns
    -------
    (ids, vocab): int64 NumPy array (len(text),), and the vocabulary as a str.
    """
    index = {ch: i for i, ch in enumerate(vocab)}
    return np.fromiter(map(index.__getitem__, text), dtype=np.int64, count=len(text)), vocab


@checked(n_classes=Int(), ids=IntArray(high=lambda v: v["n_classes"]), dtype=FloatDtype())
def one_hot(ids, n_classes, *, dtype=np.float64):
    """Rows of the identity: out[..., k] = 1 where ids == k.

    Parameters
    ----------
    ids : int array of any shape, entries in [0, n_classes).
    n_classes : int >= 1.  dtype : a float dtype.

    Returns
    -------
    array ids.shape + (n_classes,), on ids' device.
    """
    xp = get_array_module(ids)
    return (ids[..., None] == xp.arange(n_classes)).astype(dtype)


@checked(ids=IntArray(ndim=1),
         length=Int(high=lambda v: v["ids"].size - 1, high_is="len(ids) - 1"),
         stride=Optional(Int()))
def windows(ids, length, *, stride=None):
    """Overlapping windows of a sequence of ids, time-major, and the ids that follow each.

    Parameters
    ----------
    ids : 1-D int array.  length : int >= 1, T, less than len(ids).
    stride : int >= 1 or None (length: windows side by side).

    Returns
    -------
    (inputs, targets): int arrays (T, n_windows), targets[t] = inputs[t + 1] one step on.
    """
    stride = length if stride is None else stride
    xp = get_array_module(ids)
    starts = xp.arange(0, ids.size - length, stride)
    index = starts[None, :] + xp.arange(length)[:, None]
    return ids[index], ids[index + 1]
