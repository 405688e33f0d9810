"""Apache Spark in local mode, for lesson 11: the same factor model fitted by Spark ML's ALS.

Optional: it needs pyspark (the spark extra) and a Java runtime (17 or newer). spark_missing()
says which is missing, in one line, and everything else here is only called when it is None.
"""

import numpy as np

from ._checks import Bool, Custom, Int, Real, checked
from ._deprecated import renamed_keywords
from .backend import to_numpy
from .datasets import RATINGS
from .recsys import FactorModel

# Small local fits: the JVM's quick compiler only and one garbage collector thread start
# faster, and a local fit never runs long enough for the optimising compiler to pay off.
JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss4m"


def spark_missing():
    """Why Spark cannot run here, in one line with what to install, or None when it can:
    pyspark importable and a Java runtime on the PATH or under JAVA_HOME.

    Returns
    -------
    str or None
    """
    import importlib.util
    import os
    import shutil

    if importlib.util.find_spec("pyspark") is None:
        return 'Spark needs pyspark: pip install -e ".[spark]"'
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (
            java_home and os.access(os.path.join(java_home, "bin", "java"), os.X_OK)):
        return ("Spark needs a Java runtime (17 or later), e.g. "
                "apt-get install default-jre-headless")
    return None


@checked(cores=Int(), quiet=Bool())
def spark_session(cores=2, *, quiet=True):
    """A local Apache Spark session for small fits: local[cores], no web UI, no progress bars,
    2 shuffle partitions, adaptive query execution off, the JVM options of JVM_OPTIONS, log
    level ERROR. Needs pyspark and a Java runtime (``pip install -e ".[spark]"``;
    ``apt-get install default-jre-headless``).

    Parameters
    ----------
    cores : int >= 1, the worker threads of local mode
    quiet : bool, send the Java process's own start-up messages (written to the terminal's
        standard error, before any log level applies) to /dev/null

    Returns
    -------
    pyspark.sql.SparkSession (the active one when a session already runs)
    """
    import os
    import sys

    missing = spark_missing()
    if missing is not None:
        raise RuntimeError(missing)
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(f"local[{cores}]").appName("course_utils.recsys")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.adaptive.enabled", "false")
               .config("spark.driver.memory", "1g")
               .config("spark.driver.extraJavaOptions", JVM_OPTIONS))
    saved = None
    if quiet:  # the JVM inherits file descriptor 2 when it starts: give it /dev/null
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    try:
        session = builder.getOrCreate()
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
    session.sparkContext.setLogLevel("ERROR")
    return session


def _session(spark, name):
    """A SparkSession (and Spark able to run: else a RuntimeError saying what is missing)."""
    missing = spark_missing()
    if missing is not None:
        raise RuntimeError(missing)
    from pyspark.sql import SparkSession

    if not isinstance(spark, SparkSession):
        raise TypeError(f"{name} must be a pyspark SparkSession (see spark_session), got "
                        f"{type(spark).__name__}")
    return spark


@renamed_keywords(n_iters="n_iter")
@checked(spark=Custom(_session), train=RATINGS, n_factors=Int(high=1000),
         lam=Real(low=0, high=1e6), n_iter=Int(), seed=Int(low=0), blocks=Int())
def fit_spark_als(spark, train, n_factors=10, lam=0.1, n_iter=10, *, seed=0, blocks=1):
    """The same factor model fitted by Spark ML's ALS: r_hat = mu + p_u . q_i, no biases.

    Spark fits the centred ratings r - mu (so that both models share the global mean) with
    implicitPrefs=False and regParam=lam, which Spark scales by each user's and item's number
    of ratings (ALS-WR): the model of fit_als(..., biases=False, weighted=True) with the same
    lam. Spark draws its own starting factors, so the two agree in RMSE, not digit for digit.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession (see spark_session)
    train : Ratings
    n_factors : int in [1, 1000]; lam : float in [0, 1e6]
    n_iter : int >= 1, exactly that many ALS iterations (Spark's maxIter; formerly n_iters)
    seed : int >= 0, Spark's seed
    blocks : int >= 1, the user and item blocks Spark splits the factors into

    Returns
    -------
    FactorModel on the host (biases zero; a user or item Spark never saw: zero factors)
    """
    from pyspark.ml.recommendation import ALS

    users, items, ratings = (to_numpy(a) for a in (train.users, train.items, train.ratings))
    mu = float(ratings.mean())
    frame = spark.createDataFrame(list(zip(users.tolist(), items.tolist(),
                                           (ratings - mu).tolist(), strict=True)),
                                  "user int, item int, rating double")
    als = ALS(rank=n_factors, maxIter=n_iter, regParam=lam, implicitPrefs=False, seed=seed,
              userCol="user", itemCol="item", ratingCol="rating", numUserBlocks=blocks,
              numItemBlocks=blocks, coldStartStrategy="nan")
    fitted = als.fit(frame)
    P, Q = np.zeros((train.n_users, n_factors)), np.zeros((train.n_items, n_factors))
    for target, factors in ((P, fitted.userFactors), (Q, fitted.itemFactors)):
        rows = factors.collect()
        target[[r["id"] for r in rows]] = [r["features"] for r in rows]
    return FactorModel(mu=mu, user_bias=np.zeros(train.n_users),
                       item_bias=np.zeros(train.n_items), P=P, Q=Q, lam=lam, weighted=True,
                       biases=False, history={}, scale=train.scale)
