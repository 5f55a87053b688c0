"""Speed benchmarks (``python -m sesmlib bench sesm|rbm``). They print figures, including
ratios against a baseline measured in the same process; they are never timed tests."""
