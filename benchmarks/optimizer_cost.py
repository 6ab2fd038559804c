"""What an optimizer costs per generation as the history grows (the engine's own time, no
evaluation): ``ask`` for a whole generation and ``tell`` of its results, on ZDT1 with
``--n-var`` variables, one torch thread.

Usage: ``.venv/bin/python benchmarks/optimizer_cost.py gp [--generations 12] [--population 20]``
"""

from __future__ import annotations

import argparse
import time

import torch
from benchmark_support import machine

from dse.optimizers import make_optimizer
from dse.problems import PymooProblem, problem_space
from dse.space import parse_space
from dse.trial import Trial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("optimizer")
    parser.add_argument("--generations", type=int, default=12)
    parser.add_argument("--population", type=int, default=20)
    parser.add_argument("--n-var", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = parse_space(problem_space("zdt1", n_var=args.n_var))
    problem = PymooProblem("zdt1", n_var=args.n_var)
    optimizer = make_optimizer(args.optimizer, space, population_size=args.population, seed=0)
    print(f"machine: {machine()}")
    print(f"{args.optimizer}, ZDT1 with {args.n_var} variables, {args.population} a generation")
    print("| history | ask (s) | tell (s) |\n|---|---|---|")
    history = 0
    for generation in range(args.generations):
        start = time.perf_counter()
        asked = optimizer.ask()
        asking = time.perf_counter() - start
        batch = [
            Trial(history + i, generation, p, "complete", problem.evaluate(p))
            for i, p in enumerate(asked)
        ]
        start = time.perf_counter()
        optimizer.tell(batch)
        print(f"| {history} | {asking:.2f} | {time.perf_counter() - start:.3f} |", flush=True)
        history += len(batch)


if __name__ == "__main__":
    main()
