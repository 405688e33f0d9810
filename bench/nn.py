"""One training epoch of the digits network: course_utils.nn against scikit-learn's MLP.

The lesson's network (64-64-10, tanh, softmax cross-entropy, mini-batches of 32, plain
gradient descent) for one pass over scikit-learn's 1347 training digits, and the same
architecture in sklearn.neural_network.MLPClassifier (one partial_fit call is one epoch).
Rounds are interleaved so that a slow spell of the machine hits every contender alike;
medians and ratios are from the same run. With a GPU, the same course_utils code on CuPy.

    python bench/nn.py             # the digits network, then a wider one (256 hidden units)
    python bench/nn.py --quick     # the digits network only
"""

import warnings

import numpy as np
from _timing import interleaved, start
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from course_utils import nn
from course_utils.optim import SGD


def course_epoch(X, y, hidden, xp, dtype):
    """A function running one epoch of course_utils training on arrays of module xp."""
    net = nn.mlp([X.shape[1], hidden, 10], "tanh", seed=0, xp=xp, dtype=dtype)
    data, labels = xp.asarray(X, dtype=dtype), xp.asarray(y)
    optimizer, loss = SGD(net.params.values(), lr=0.1), nn.SoftmaxCrossEntropy()
    return lambda: nn.train_epoch(net, loss, data, labels, optimizer, batch_size=32, seed=0)


def sklearn_epoch(X, y, hidden):
    model = MLPClassifier((hidden,), activation="tanh", solver="sgd", batch_size=32,
                          learning_rate_init=0.1, momentum=0.0, alpha=0.0, random_state=0)

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(X, y, classes=np.arange(10))
    return epoch


def main():
    args, status = start(__doc__, "only the 64-hidden-unit network", rounds=15)
    digits = load_digits()
    X, _, y, _ = train_test_split(digits.data / 16, digits.target, test_size=0.25,
                                  random_state=0, stratify=digits.target)
    for hidden in [64] if args.quick else [64, 256]:
        contenders = {"course_utils (NumPy, float64)": course_epoch(X, y, hidden, np, np.float64),
                      "scikit-learn MLPClassifier": sklearn_epoch(X, y, hidden)}
        if status:
            import cupy

            for dtype in (np.float64, np.float32):
                contenders[f"course_utils (CuPy, {np.dtype(dtype).name})"] = course_epoch(
                    X, y, hidden, cupy, dtype)
        medians = interleaved(contenders, args.rounds)
        reference = "course_utils (NumPy, float64)"
        print(f"  one epoch, 64-{hidden}-10, {len(X)} samples, batches of 32, "
              f"median of {args.rounds} rounds")
        for name, seconds in medians.items():
            print(f"    {name:34} {seconds * 1e3:9.2f} ms   "
                  f"{seconds / medians[reference]:5.2f}x NumPy")


if __name__ == "__main__":
    main()
