"""``python -m benchmarks``: run the benchmarks and print one table."""

from benchmarks.run import main

raise SystemExit(main())
