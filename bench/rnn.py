"""course_utils.rnn against torch: forward plus backward of the RNN, GRU and LSTM layers.

Input 64, hidden 128, batch 32, length 100, float32 (the issue's sizes), on the CPU: ours
(NumPy, the weights copied into torch's layer of the same shape) against torch.nn.RNN/GRU/LSTM,
each a forward pass over the sequence and a backward pass from a fixed random dL/dy, so both
compute dL/dx and every weight gradient. Outputs and gradients are checked to agree first.
Torch runs with torch.set_num_threads set to the threads NumPy's BLAS uses (threadpoolctl's
count, else os.cpu_count()), printed. Without torch the benchmark times ours alone and says
so. Rounds are interleaved so that a slow spell of the machine hits every contender alike.

    python bench/rnn.py            # the issue's sizes
    python bench/rnn.py --quick    # length 20
"""

import os

import numpy as np
from _timing import interleaved, report, start

from course_utils import rnn

SIZES = {"n_in": 64, "hidden": 128, "batch": 32}
TORCH = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}
NAMES = {"W_ih": "weight_ih_l0", "W_hh": "weight_hh_l0", "b_ih": "bias_ih_l0",
         "b_hh": "bias_hh_l0"}


def blas_threads():
    """The threads NumPy's BLAS uses: threadpoolctl's count, else the CPUs."""
    try:
        from threadpoolctl import threadpool_info
        counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
        if counts:
            return max(counts)
    except ImportError:
        pass
    return os.cpu_count() or 1


def main():
    args, _ = start(__doc__, "length 20 instead of 100", rounds=7)
    T = 20 if args.quick else 100
    B, n_in, H = SIZES["batch"], SIZES["n_in"], SIZES["hidden"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, n_in)).astype(np.float32)
    dy = rng.standard_normal((T, B, H)).astype(np.float32)
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: timing course_utils alone (pip install torch to get "
              "the ratios)")
    if torch is not None:
        threads = blas_threads()
        torch.set_num_threads(threads)
        print(f"torch {torch.__version__}, torch.set_num_threads({threads}) = NumPy's BLAS "
              f"threads")
    for cell in rnn.CELLS:
        ours = rnn.recurrent_layer(cell, n_in, H, seed=0, xp=np, dtype=np.float32)

        def run_ours(layer=ours):
            layer.forward(x)
            return layer.backward(dy)

        contenders = {f"course_utils {cell}": run_ours}
        if torch is not None:
            theirs = getattr(torch.nn, TORCH[cell])(n_in, H)
            with torch.no_grad():
                for k, name in NAMES.items():
                    getattr(theirs, name).copy_(torch.from_numpy(ours.params[k]))
            xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)

            def run_torch(layer=theirs, xt=xt, dyt=dyt):
                xg = xt.detach().requires_grad_()
                layer.zero_grad()
                out, _ = layer(xg)
                out.backward(dyt)
                return xg.grad

            dx = run_ours()
            np.testing.assert_allclose(dx, run_torch().numpy(), rtol=1e-3, atol=1e-4)
            for k, name in NAMES.items():
                np.testing.assert_allclose(ours.grads[k], getattr(theirs, name).grad.numpy(),
                                           rtol=1e-3, atol=1e-3)
            contenders[f"torch.nn.{TORCH[cell]}"] = run_torch
        medians = interleaved(contenders, args.rounds)
        reference = f"torch.nn.{TORCH[cell]}" if torch is not None else f"course_utils {cell}"
        report(f"CPU, {cell.upper()} forward + backward, input {n_in}, hidden {H}, batch {B}, "
               f"length {T}, float32 (goal: at most 2x torch)", medians, reference)


if __name__ == "__main__":
    main()
